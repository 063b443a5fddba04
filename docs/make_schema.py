"""Render ``docs/results-schema.md`` from ``benchmarks.records.results.FIELDS``, the metric catalogue
(``benchmarks.metrics``) and ``RunConfig``.

    python docs/make_schema.py            # rewrite the doc
    python docs/make_schema.py --check    # exit 1 when the doc is stale
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "results-schema.md"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.config import PROFILES, RunConfig  # noqa: E402
from benchmarks.core.atomic import atomic_write_text  # noqa: E402
from benchmarks.metrics import METRICS, Metric  # noqa: E402
from benchmarks.records.results import FIELDS, RESULTS_JSON, SCHEMA_VERSION  # noqa: E402

# Fields that only Keras runs write (absent from scikit-learn records).
KERAS_ONLY = ("time_to_target_s", "epoch_to_target", "flops_per_sample", "gpu_peak_memory_mb",
              "train_gflops_per_s", "inference_gflops_per_s", "replicas", "global_batch_size",
              "scaling_efficiency", "single_replica_samples_per_s", "feature_cache", "phases",
              "inner_cv")
# Keras fields written only when FLOPs could be counted.
WHEN_FLOPS = ("train_gflops_per_s", "inference_gflops_per_s")
# The only fields of a record whose status is 'failed'.
FAILED_FIELDS = ("schema_version", "run_id", "key", "status", "error", "model", "framework", "dataset",
                 "modality", "seed", "fold", "profile", "device_kind", "device_name", "environment",
                 "finished_at", "failure", "jobs_beside")

META: dict[str, str] = {
    "command": "the command line that started the run",
    "profile": "run profile name",
    "seeds": "list of seeds run for every pair",
    "config": "object: the run configuration (same keys as a record's `config`, plus `hparams`, `seeds`)",
    "experiment": "object: what a resume must match: `oncobench` version, `config` (without seeds), "
                  "`data_options` (top-k, impute, cv, ...) and `hparams` per model as resolved",
    "fingerprint": "sha256 (16 hex) of `experiment` without `hparams`",
    "started_at": "ISO-8601 UTC start time of the invocation",
    "environment": "object: as a record's `environment` (below), measured once when the run folder is "
                   "created (a resume keeps it; the other keys describe the latest invocation)",
    "schema_version": "integer version of this schema",
}
ENVIRONMENT: dict[str, str] = {
    "device_kind": "'GPU' when TensorFlow sees a GPU, else 'CPU'",
    "device_name": "name of the first GPU, else the CPU model",
    "gpus": "list of GPU names (empty on CPU)",
    "gpu_memory_mb": "list: peak memory per GPU when the environment was read, MiB (empty on CPU)",
    "tensorflow": "TensorFlow version",
    "keras": "Keras version",
    "python": "Python version",
    "numpy": "NumPy version",
    "scikit_learn": "scikit-learn version",
    "platform": "OS and libc (platform.platform())",
    "cpu_model": "CPU model name",
    "cpu_count": "logical CPU cores",
    "intra_op_threads": "TensorFlow intra-op threads in force (set once at start-up, --threads)",
    "inter_op_threads": "TensorFlow inter-op threads in force (--inter-op-threads)",
    "git_commit": "commit of the oncobench checkout, '-dirty' when tracked files changed; null outside git",
    "hostname": "host name",
    "control": "object: control benchmark measured at run start, to normalise speeds across machines "
               "(below)",
}
CONTROL: dict[str, str] = {
    "matmul_gflops": "GFLOP/s of a fixed 1024x1024 float32 matmul (best of 3, after warm-up)",
    "ref_model_samples_per_s": "training samples/s of a fixed dense model 64 -> 256 -> 256 -> 2, batch 64 "
                               "(best of 3 epochs, after warm-up)",
}
DATA: dict[str, str] = {
    "name": "dataset name",
    "modality": "expression | tabular | image",
    "class_names": "list of class names, index = label",
    "input_shape": "list: shape of one sample",
    "n_train": "training samples", "n_val": "validation samples", "n_test": "test samples",
    "fold": "cross-validation fold, null for a fixed split",
    "source": "where the data came from", "licence": "data licence", "citation": "what to cite",
    "files": "object: file name -> sha256 of the data as verified at load",
    "feature_bytes": "bytes of the features of all splits as stored (images: uint8/uint16 pixels)",
    "in_memory": "false when some split is read from disk by rows (a large npz's .npy cache, a folder "
                 "decoded per batch)",
}
CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")


def _presence(name: str) -> str:
    if name in FAILED_FIELDS:
        return "always"
    if name in WHEN_FLOPS:
        return "keras, when FLOPs are counted"
    if name in KERAS_ONLY:
        return "keras"
    return "ok"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(rows: dict[str, str], head: tuple[str, ...] = ("key", "meaning")) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return out + [f"| `{k}` | {_cell(v)} |" for k, v in rows.items()]


def _threshold(m: Metric) -> str:
    """compare's default threshold: absolute for quality, relative (raw / control-normalised) for cost."""
    if m.kind == "quality":
        return f"{m.threshold:g} (abs)"
    return f"{m.threshold:.0%} / {m.control_threshold:.0%}"


def metric_rows() -> list[str]:
    """The metric catalogue as a Markdown table."""
    head = "| metric | kind | unit | better | header | digits | threshold | compared |"
    rows = [head, "|" + "---|" * 8]
    for m in METRICS.values():
        rows.append(f"| `{m.name}` | {m.kind} | {m.unit} | {'higher' if m.higher_is_better else 'lower'} | "
                    f"{_cell(m.header)} | {m.digits} | {_threshold(m)} | "
                    f"{'yes' if m.compared else ''} |")
    return rows


def render() -> str:
    """The whole Markdown document."""
    default = PROFILES["standard"]
    config_rows = {f.name: f"`{getattr(default, f.name)!r}`" for f in fields(RunConfig)
                   if f.name not in ("hparams", "seeds")}
    lines = [
        f"# Results schema (version {SCHEMA_VERSION})",
        "",
        "<!-- Generated by `python docs/make_schema.py` from `records.results.FIELDS` and the metric "
        "catalogue; do not edit. -->",
        "",
        "A run folder `results/<run-id>/` (or `--output DIR`) holds:",
        "",
        f"- `{RESULTS_JSON}`: the run, rewritten atomically after every finished record (below);",
        "- `results.csv`: one flat row per record (scalar fields, plus `environment.*` and `data.*` "
        "scalars; a column no record of the run has a value for is left out);",
        "- `summary.md`: the comparison table (mean ± std over seeds or folds);",
        "- `checkpoints/`: best weights (lowest validation loss) of every Keras run.",
        "",
        f"## `{RESULTS_JSON}`",
        "",
        "```json",
        f'{{"schema_version": {SCHEMA_VERSION}, "meta": {{...}}, "records": [{{...}}, ...]}}',
        "```",
        "",
        "A reader refuses any other `schema_version`. Missing optional values are `null`; NaN and "
        "infinity are written as `null`.",
        "",
        "### `meta`",
        "",
        *_table(META),
        "",
        "### Records",
        "",
        "One record per (model, dataset, seed, fold). `present`: `always` = in every record, failed "
        "ones too; `ok` = in every record whose status is `ok` (null where it does not apply); `keras` "
        "= only in Keras records.",
        "",
        "| field | meaning | present |",
        "|---|---|---|",
        *[f"| `{k}` | {_cell(v)} | {_presence(k)} |" for k, v in FIELDS.items()],
        "",
        "### Metrics",
        "",
        "Every metric field above is one entry of the metric catalogue (`benchmarks/metrics/catalogue.py`), "
        "which tables, the report and `compare` read: `header` and `digits` in tables, `better` for the "
        "best marks and compare's direction, `threshold` compare's default regression threshold (quality: "
        "absolute floor on the drop of the mean; cost: relative change of the median, raw / "
        "control-normalised), `compared` whether `compare` checks it by default.",
        "",
        *metric_rows(),
        "",
        "### `config`",
        "",
        "The training configuration as used (`RunConfig`; defaults of the `standard` profile):",
        "",
        *_table(config_rows, ("key", "default")),
        "",
        "### `curves`",
        "",
        "Per-epoch lists (all phases in order; empty for scikit-learn): "
        + ", ".join(f"`{c}`" for c in CURVES) + ".",
        "",
        "### `environment`",
        "",
        *_table(ENVIRONMENT),
        "",
        "`environment.control`:",
        "",
        *_table(CONTROL),
        "",
        "### `data`",
        "",
        "Dataset facts; loaders may add preprocessing facts (e.g. imputed values, genes kept).",
        "",
        *_table(DATA),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the doc is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(f"{DOC.relative_to(ROOT)} is stale; regenerate it: python docs/make_schema.py",
                  file=sys.stderr)
            return 1
        return 0
    atomic_write_text(DOC, text)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
