"""Result records: the schema, an atomic JSON store, and CSV / Markdown exports.

A record is one (model, dataset, seed, fold) run, a flat dict of scalars plus a few
nested fields (hyper-parameters, confusion matrix, curves, environment, data). The
full field list with meanings is ``FIELDS`` (metric meanings come from the catalogue,
``benchmarks.metrics``); ``docs/results-schema.md`` renders it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import OncobenchError, quote
from benchmarks.core.paths import path_problem, require_path
from benchmarks.metrics import catalogue as metric_catalogue

SCHEMA_VERSION = 1
RESULTS_JSON = "results.json"

# Non-metric fields, name -> meaning. Scalars unless noted. Missing optional values are null.
# Metric fields (quality and cost) take their meaning from the catalogue (benchmarks.metrics).
_IDENTITY: dict[str, str] = {
    "schema_version": "integer version of this schema",
    "run_id": "name of the run folder",
    "key": "unique id of the record: model|dataset|seed|fold",
    "status": "'ok' or 'failed'",
    "error": "one-line error when status is 'failed', else null",
    "model": "registered model name",
    "framework": "'keras' or 'sklearn'",
    "dataset": "registered dataset name (or csv:/npz:/folder: spec)",
    "modality": "expression | tabular | image",
    "seed": "random seed of this run",
    "fold": "cross-validation fold, null for a fixed split",
    "profile": "run profile name (quick, standard, ci, ...)",
    "failure": "null for a finished run; else how it failed: error (an exception), crash (the job's "
               "process died: signal or exit code in error), timeout (--run-timeout), data",
    "jobs_beside": "how many jobs ran at once, this one included (--jobs); speed figures with more "
                   "than 1 shared the machine",
    "fingerprint": "sha256 (16 hex) of the experiment: oncobench version, config, data options and "
                   "this model's hyper-parameters; a resume continues only records with the same one",
    "hparams": "object: the model's hyper-parameters as used",
    "config": "object: training configuration (epochs, batch size, optimizer, lr, ...)",
}
_PREDICTIONS: dict[str, str] = {
    "confusion_matrix": "list of lists: rows = true class, columns = predicted class",
    "per_class_f1": "object: class name -> F1",
    "class_names": "list of class names, index = label",
    "test_labels": "list: true test labels (for ROC curves and bootstrap CIs)",
    "test_scores": "list of lists: predicted class probabilities on the test split",
    "val_labels": "list: true validation labels when the validation split was held out of training "
                  "(for the validation-chosen operating threshold), else null",
    "val_scores": "list of lists: predicted class probabilities on the validation split (same condition)",
    "val_threshold": "binary: the class-1 score threshold maximising Youden's J on the validation split "
                     "(never test); null without held-out validation scores or for multi-class",
}
_TRAINING: dict[str, str] = {
    "replicas": "replicas trained in sync (--strategy; 1 without one)",
    "global_batch_size": "batch per step over all replicas: per-replica batch x replicas",
    "scaling_efficiency": "with --scaling: train samples/s per replica / one replica's samples/s "
                          "(same invocation); else null",
    "inference_batch_size": "batch size the inference throughput was timed with: the configured one, "
                            "capped (a small test split is tiled to at most 1024 samples / 64 MiB)",
    "epochs": "epochs actually run (early stopping may stop sooner); null for sklearn",
    "best_epoch": "epoch (1-based) whose weights were restored",
    "train_steps_measured": "number of training steps behind train_samples_per_s",
    "steady": "true when train_samples_per_s excludes the first epoch (false: single epoch or sklearn)",
    "epoch_to_target": "epoch (1-based) at which --target was first reached, null if not",
    "deterministic": "true when op determinism was on (--deterministic)",
    "precision": "Keras dtype policy: float32 | mixed_float16 | mixed_bfloat16",
    "checkpoint": "path of the best-model checkpoint, relative to the run folder",
    "curves": "object: per-epoch lists loss, val_loss, accuracy, val_accuracy",
    "data_cached": "true when the training data were held in memory (within --cache-memory-gb; sklearn "
                   "always), false when batches were read from disk by index",
    "explanations": "object, null until explained (run --explain / explain): how the model was restored, "
                    "baseline, samples, primary method, and per method its settings, time_s, deletion "
                    "curves and faithfulness, IG completeness, the model-randomisation rank "
                    "correlation, named top features per class and overall (docs: benchmarks/explain)",
    "deployment": "object, null until deployed (deploy): artifacts folder, reference (the Keras/scikit-learn "
                  "model's accuracy, f1_macro, roc_auc), n_test, threads_all, and per format (savedmodel, "
                  "tflite_float32, tflite_dynamic_int8, tflite_int8, onnx) its quality, delta_* vs the "
                  "reference, agreement, max_abs_diff, size_bytes, import_s, load_s, latency_ms_p50/p95/p99 "
                  "(1 thread), samples_per_s_1_thread / _all_threads, peak_rss_mb (docs: benchmarks/deploy)",
    "recipe": "object (keras): the training recipe as run (schedule, weight_decay, label_smoothing, "
              "class_weight, monitor as resolved, class_weights, ...; see models/recipe.py)",
    "feature_selection": "object: features kept by the recipe's select_features (method, k, "
                         "n_features_in), fitted on train; null when all were kept",
    "feature_cache": "object (keras), per phase: the frozen, deterministic layers computed once per "
                     "split (cached: names, output_shape, seconds -- counted in train_time_s --, stored: "
                     "memory | file) or why nothing was cached (reason)",
    "inner_cv": "object (keras): the recipe's inner_cv grid on p >> n data (chosen values, folds, "
                "per point out-of-fold log_loss and accuracy, seconds -- counted in train_time_s --) "
                "or why it did not run (reason)",
    "phases": "object (keras), per phase (train, fine_tune): steady train_samples_per_s, first_epoch_s, "
              "epochs, fit_s",
    "latency_n_jobs": "1 when the latency was timed with n_jobs=1 (scikit-learn estimators that take "
                      "n_jobs: as deployed for one request); null otherwise",
    "tuned": "object: hyper-parameters that came from `tune` (run --tuned): hparams, recipe, "
             "learning_rate, source file; null when none",
    "degenerate": "why the test predictions are degenerate (>= 95% one class, or balanced accuracy "
                  "within 0.05 of chance), null when they are not; tables and reports mark and count it",
}
_FEDERATED: dict[str, str] = {
    "federated": "object, federated runs only: strategy, clients, partition, rounds, local_epochs, "
                 "fraction_fit, best_round (lowest clients' validation loss: the model scored), "
                 "proximal_mu, server_lr, label, engine, per-client train/val sizes and "
                 "label counts",
    "fed_strategy": "federated runs: fedavg | fedprox | fedadam",
    "fed_label": "federated runs: the label in tables and the report, e.g. 'fedavg (5 clients, "
                 "dirichlet 0.5)'",
    "round_curves": "object, federated runs: per-round lists round_test_accuracy, round_test_loss "
                    "(global model on the test split), round_val_loss, round_val_accuracy (clients' "
                    "own validation splits)",
    "bytes_down_per_round": "list, federated runs: model bytes sent server -> clients in each round",
    "bytes_up_per_round": "list, federated runs: model bytes sent clients -> server in each round",
    "gap_to_central": "object, federated runs: metric -> federated minus centralised value, for the "
                      "centralised run of the same model, dataset, seed and fold in the same run folder "
                      "(absent without one)",
    "accuracy_gap": "federated runs: gap_to_central.accuracy (negative: federated is less accurate)",
    "dp": "object, federated runs with --dp-noise/--dp-clip: mechanism, noise_multiplier, "
          "clipping_norm, noise_stdev, releases and Flower's privacy statement (epsilon/delta when "
          "Flower accounts them)",
}
_ENVIRONMENT: dict[str, str] = {
    "device_kind": "'GPU' or 'CPU'",
    "device_name": "GPU name, or the CPU model",
    "environment": "object: versions, threads, CPU/GPU, git commit, host",
    "data": "object: dataset facts and provenance (source, licence, sha256, split sizes; multi-block data: "
            "blocks, blocks_train, blocks_test)",
    "block_ablation": "object: multi-block data only: test accuracy as it is and without each test block "
                      "(full_accuracy; without: block -> accuracy, drop); null otherwise",
    "started_at": "ISO-8601 UTC start time",
    "finished_at": "ISO-8601 UTC end time",
}

# Fields only a federated run fills; every other record holds them as null.
FEDERATED_FIELDS: tuple[str, ...] = (*_FEDERATED, "bytes_total", "federated_wall_s")

# Every record field, name -> meaning, in documentation order.
FIELDS: dict[str, str] = {
    **_IDENTITY,
    **{m.name: m.meaning for m in metric_catalogue.quality()},
    **_PREDICTIONS,
    **{m.name: m.meaning for m in metric_catalogue.cost()},
    **_TRAINING,
    **_FEDERATED,
    **_ENVIRONMENT,
}

QUALITY_METRICS: tuple[str, ...] = metric_catalogue.names("quality")
COST_METRICS: tuple[str, ...] = metric_catalogue.names("cost")


def is_ok(record: dict[str, Any]) -> bool:
    """True for a finished run (status 'ok'; records without a status count as ok)."""
    return record.get("status", "ok") == "ok"


def record_key(model: str, dataset: str, seed: int, fold: int | None, variant: str | None = None) -> str:
    """``model|dataset|seed|fold``, plus ``|variant`` for another way to train (e.g. federated)."""
    return f"{model}|{dataset}|{seed}|{'-' if fold is None else fold}" + (f"|{variant}" if variant else "")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        return _clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


CORRUPT_FIX = "restore it (e.g. from a backup or git) or rerun the benchmark into a new --output"


def read_json(path: Path, fix: str = CORRUPT_FIX) -> Any:
    """Parse a JSON file; an unreadable or corrupt file is a one-line ``OncobenchError`` ending in ``fix``."""
    require_path(path, "pass a run folder, its results.json or a baseline file")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OncobenchError(f"{path}: not valid JSON ({exc}); the file is corrupt: {fix}") from None
    except RecursionError:
        raise OncobenchError(f"{path}: JSON nested too deeply to be a results file; the file is corrupt: "
                             f"{fix}") from None
    except OSError as exc:
        raise OncobenchError(f"{path}: cannot read ({exc.strerror})") from None


def check_version(path: Path, version: Any, what: str = "results", redo: str = "rerun the benchmark") -> None:
    """Refuse a schema version other than ``SCHEMA_VERSION``, saying which oncobench reads it.

    Older: ``redo`` with this oncobench, or use the oncobench that wrote it; newer: upgrade oncobench.
    """
    if version == SCHEMA_VERSION:
        return
    if not isinstance(version, int) or isinstance(version, bool):
        raise OncobenchError(f"{path}: {what} schema version {quote(version)} is not a number; the file is "
                             f"corrupt: {CORRUPT_FIX}")
    newer = version > SCHEMA_VERSION
    fix = ("upgrade oncobench (pip install -U oncobench, or git pull)" if newer else
           f"{redo} with this version, or read it with the oncobench version that wrote it")
    raise OncobenchError(f"{path}: {what} schema version {version}, this oncobench reads {SCHEMA_VERSION} "
                         f"(the file is {'newer' if newer else 'older'}); {fix}")


# Record fields that report, compare and baseline need (non-empty strings).
NAMED: tuple[str, ...] = ("model", "dataset")


def check_records(path: Path, records: Any, required: Sequence[str] = NAMED) -> list[dict[str, Any]]:
    """``records`` if it is a list of objects of this schema version whose ``required`` fields are
    non-empty strings; else a one-line ``OncobenchError`` (the file is corrupt, and the fix).

    The one record validator: ``read_document`` calls it for every reader, so report, compare and
    baseline (``required=NAMED``) refuse the same files.
    """
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise OncobenchError(f"{path}: 'records' is not a list of objects; the file is corrupt: "
                             f"{CORRUPT_FIX}")
    seen: dict[str, int] = {}
    for i, r in enumerate(records):
        check_version(path, r.get("schema_version", SCHEMA_VERSION), f"record {i}'s")
        for name in required:
            if not isinstance(r.get(name), str) or not r[name]:
                raise OncobenchError(f"{path}: record {i} has no {name} name; the file is corrupt: "
                                     f"{CORRUPT_FIX}")
        problem = record_problem(r)
        if problem:
            raise OncobenchError(f"{path}: record {i} {problem}; the file is corrupt: {CORRUPT_FIX}")
        key = r.get("key")
        if isinstance(key, str) and key:
            if key in seen:
                raise OncobenchError(f"{path}: records {seen[key]} and {i} are both {quote(key, 60)} (a "
                                     "duplicated record would count twice); the file is corrupt: "
                                     f"{CORRUPT_FIX}")
            seen[key] = i
    return records


# Valid values of the catalogue's metrics: fractions in [0, 1] (faithfulness, a difference of two,
# in [-1, 1]); costs finite, >= 0 and below MAX_COST (no measurement comes near; sums stay finite).
MAX_COST = 1e18
NESTED = ("environment", "data", "hparams", "config")


def record_problem(record: dict[str, Any]) -> str | None:
    """Why ``record`` cannot be a record of this schema (a metric that is not a number in its range,
    a nested field that is not an object), or None."""
    for m in (*metric_catalogue.quality(), *metric_catalogue.cost()):
        value = record.get(m.name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{m.name} = {quote(value)}: not a finite number"
        low, high = ((-1.0, 1.0) if m.name == "faithfulness" else (0.0, 1.0)) if m.unit == "fraction" \
            else (0.0, MAX_COST)
        if not low <= value <= high:
            return f"{m.name} = {value!r}: outside {low:g} .. {high:g}"
    for name in NESTED:
        if record.get(name) is not None and not isinstance(record[name], dict):
            return f"{name} = {quote(record[name])}: not an object"
    return None


def read_document(path: Path, what: str = "results", redo: str = "rerun the benchmark",
                  required: Sequence[str] = NAMED) -> dict[str, Any]:
    """Read a results or baseline JSON file: an object with valid 'records' and this schema version.

    ``what`` names the file kind in errors; ``redo`` says how to make a readable one; ``required``:
    see ``check_records``.
    """
    doc = read_json(path)
    if not isinstance(doc, dict) or "records" not in doc:
        raise OncobenchError(f"{path}: not an oncobench {what} file (no 'records'); pass a run folder, "
                             "its results.json or a baseline file")
    check_version(path, doc.get("schema_version"), what, redo)
    check_records(path, doc["records"], required)
    if not isinstance(doc.get("meta", {}), dict):
        raise OncobenchError(f"{path}: 'meta' is not an object; the file is corrupt: {CORRUPT_FIX}")
    return doc


def load_results(path: Path, required: Sequence[str] = ()) -> dict[str, Any]:
    """Read a results.json (or the folder holding one); checks the schema version and the records.

    ``required``: record fields that must be non-empty strings; report, compare and baseline pass
    ``NAMED`` (resuming a run needs only the records' keys).
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_JSON
    if path_problem(path) == "file not found":
        raise OncobenchError(f"{path}: no results file; pass a run folder or its results.json")
    require_path(path, "pass a run folder or its results.json")
    if not path.is_file():
        raise OncobenchError(f"{path}: not a file; pass a run folder or its results.json")
    return read_document(path, required=required)


def load_records(path: Path) -> list[dict[str, Any]]:
    return list(load_results(path)["records"])


def fingerprint(obj: Any) -> str:
    """A short sha256 (16 hex digits) of ``obj`` as canonical JSON."""
    text = json.dumps(_clean(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def model_fingerprint(experiment: dict[str, Any], model: str) -> str:
    """The per-record fingerprint: the experiment's shared part plus ``model``'s hyper-parameters."""
    shared = {k: v for k, v in experiment.items() if k != "hparams"}
    return fingerprint({**shared, "model": model, "hparams": experiment.get("hparams", {}).get(model)})


def _changes(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Human ``key old -> new`` lines where two JSON-like values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [c for k in sorted(set(old) | set(new), key=str)
                for c in _changes(old.get(k), new.get(k), f"{prefix}{k}.")]
    old, new = _clean(old), _clean(new)
    return [] if old == new else [f"{prefix.rstrip('.')} {quote(old)} -> {quote(new)}"]


def experiment_changes(old_meta: dict[str, Any], experiment: dict[str, Any]) -> list[str]:
    """What differs between a store's experiment and ``experiment`` (models in both only)."""
    old = old_meta.get("experiment")
    if not isinstance(old, dict):
        return ["no experiment fingerprint (written by an older oncobench)"]
    shared = [k for k in set(old) | set(experiment) if k != "hparams"]
    changes = _changes({k: old.get(k) for k in shared}, {k: experiment.get(k) for k in shared})
    old_hp, new_hp = old.get("hparams") or {}, experiment.get("hparams") or {}
    for model in sorted(set(old_hp) & set(new_hp)):
        changes += _changes(old_hp[model], new_hp[model], f"hparams.{model}.")
    return changes


def data_changes(records: Iterable[dict[str, Any]], dataset: str, files: dict[str, str]) -> list[str]:
    """Data files whose sha256 differs from the one the finished records of ``dataset`` used."""
    changes = []
    for r in records:
        if r.get("dataset") == dataset and is_ok(r):
            old = (r.get("data") or {}).get("files") or {}
            for name in sorted(set(old) | set(files)):
                if old.get(name) != files.get(name):
                    changes.append(f"{name} sha256 {str(old.get(name))[:12]} -> {str(files.get(name))[:12]}")
            if changes:
                break
    return changes


def move_aside(run_dir: Path) -> Path:
    """Rename ``run_dir`` to ``<run_dir>.old-<UTC time>`` (never deletes); returns the new path."""
    run_dir = Path(run_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = run_dir.with_name(f"{run_dir.name}.old-{stamp}")
    i = 1
    while target.exists():
        target = run_dir.with_name(f"{run_dir.name}.old-{stamp}-{i}")
        i += 1
    try:
        os.replace(run_dir, target)
    except OSError as exc:
        raise OncobenchError(f"cannot move {run_dir} aside to {target}: {exc.strerror}") from None
    return target


# files rewritten atomically in a run folder; ``atomic_open`` writes each as ``.NAME.XXXX`` first
REWRITTEN = (RESULTS_JSON, "results.csv", "summary.md", "suite.toml")


def clean_stale_temps(run_dir: Path) -> list[Path]:
    """Remove the temporary files a killed writer left (``.results.json.XXXX`` ...), only while this
    process holds the folder's lock (no other writer can be mid-write); returns what it removed."""
    from benchmarks.core import folder_lock

    run_dir = Path(run_dir)
    if not folder_lock.holds(run_dir):
        return []
    removed = []
    for name in REWRITTEN:
        for tmp in run_dir.glob(f".{name}.*"):
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    return removed


class ResultsStore:
    """``results.json`` of one run folder, rewritten atomically after every record."""

    def __init__(self, run_dir: Path, meta: dict[str, Any] | None = None):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / RESULTS_JSON
        self.meta: dict[str, Any] = dict(meta or {})
        self.records: list[dict[str, Any]] = []
        clean_stale_temps(self.run_dir)
        if self.path.exists():  # resume: keep every finished record
            doc = load_results(self.path)
            self.records = list(doc["records"])
            self.meta = {**doc.get("meta", {}), **self.meta}

    def done_keys(self) -> set[str]:
        return {r["key"] for r in self.records if is_ok(r)}

    def fingerprints(self) -> dict[str, str | None]:
        """key -> fingerprint of every finished record (None when it has none)."""
        return {r["key"]: r.get("fingerprint") for r in self.records if is_ok(r)}

    def append(self, record: dict[str, Any]) -> None:
        """Add (or replace, by key) a record and rewrite the file atomically."""
        record = _clean(record)
        self.records = [r for r in self.records if r.get("key") != record.get("key")]
        self.records.append(record)
        self.flush()

    def flush(self) -> None:
        doc = {"schema_version": SCHEMA_VERSION, "meta": _clean(self.meta), "records": self.records}
        atomic_write_text(self.path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


def flat_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per record: scalar fields, plus environment and data scalars prefixed."""
    rows = []
    for r in records:
        row = {k: v for k, v in r.items() if not isinstance(v, (dict, list))}
        for prefix in ("environment", "data"):
            for k, v in (r.get(prefix) or {}).items():
                if not isinstance(v, (dict, list)):
                    row[f"{prefix}.{k}"] = v
        rows.append(row)
    return rows


def write_csv(records: list[dict[str, Any]], path: Path) -> None:
    import csv
    import io

    from benchmarks.records.frames import kept_columns

    rows = flat_rows(records)
    cols = kept_columns(rows)  # a column no record has a value for is left out (results.json has it)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())
