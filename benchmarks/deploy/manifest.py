"""Manifests / model cards: one JSON and one Markdown file beside every artifact, and an index
(``manifest.json``) of the folder. Fields: see ``benchmarks.deploy``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.deploy import MANIFEST_VERSION, RUNTIMES, artifact_file
from benchmarks.deploy.source import Source

CARD_METRICS = ("accuracy", "f1_macro", "roc_auc")


def sha256_of(path: Path) -> str:
    """sha256 of a file, or of a folder (every file's relative path and bytes, in sorted order)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def size_bytes(path: Path) -> int:
    """Bytes on disk of a file or a folder."""
    if not path.is_dir():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def record_metrics(record: dict[str, Any]) -> dict[str, Any]:
    """The record's test metrics with 95% percentile-bootstrap CIs (1000 resamples of the test split)."""
    from benchmarks.records.stats import bootstrap_interval

    out: dict[str, Any] = {}
    y, s = record.get("test_labels"), record.get("test_scores")
    for name in CARD_METRICS:
        value = record.get(name)
        entry: dict[str, Any] = {"value": value}
        if y is not None and s is not None and value is not None:
            b = bootstrap_interval(y, s, name, seed=int(record.get("seed", 0)))
            entry.update(ci95_low=b.ci_low, ci95_high=b.ci_high, ci_method="percentile bootstrap (1000)")
        out[name] = entry
    out["n_test"] = len(y) if y is not None else None
    return out


def intended_use(src: Source) -> dict[str, Any]:
    """Intended use and limits: what the record can support, stated plainly."""
    r, data = src.record, src.record.get("data") or {}
    return {
        "intended_use": (f"research and benchmarking: reproducing oncobench's {r['model']} on {r['dataset']} "
                         "and measuring deployment cost; a starting point for a validated pipeline"),
        "not_for": "clinical decisions: not a medical device, not clinically validated, no regulatory review",
        "limits": [
            f"trained on {data.get('n_train', '?')} samples and tested on {data.get('n_test', '?')} "
            f"of one source ({data.get('source', r['dataset'])}); performance on other sites, scanners "
            "or assays is unknown (distribution shift)",
            f"profile {r.get('profile')!r}, seed {r['seed']}: one trained instance; the CIs cover the "
            "test-sample variability of this instance only, not retraining",
            "inputs must be raw values as the dataset stores them (see input); the preprocessing "
            "constants were fitted on this record's training split",
            "the predicted class is the argmax of the probabilities (no tuned decision threshold)",
        ],
    }


def base_manifest(src: Source) -> dict[str, Any]:
    """Facts shared by every artifact of ``src``."""
    r, p = src.record, src.prep
    return {
        "manifest_version": MANIFEST_VERSION,
        "record": {k: r.get(k) for k in ("key", "run_id", "model", "framework", "dataset", "seed", "fold",
                                         "profile", "hparams", "best_epoch", "checkpoint", "fingerprint")},
        "restored": src.restored,
        "input": {"name": "raw", "dtype": p.input_dtype, "shape": [None, *p.input_shape],
                  "meaning": ("stored pixels, one image per row" if p.kind == "image" else
                              "raw feature values in the dataset's column order (NaN allowed: imputed)")},
        "output": {"name": "probabilities", "dtype": "float32", "shape": [None, src.ds.num_classes],
                   "meaning": "class probabilities in class_names order; predicted class = argmax"},
        "class_names": list(src.ds.class_names),
        "preprocessing": p.describe(),
        "metrics": record_metrics(r),
        "data": r.get("data"),
        **intended_use(src),
    }


def markdown(m: dict[str, Any]) -> str:
    """The model card of manifest ``m`` as Markdown."""
    r, a = m["record"], m["artifact"]
    lines = [f"# Model card: {r['model']} on {r['dataset']} (seed {r['seed']}), {a['format']}", "",
             f"- artifact: `{a['file']}` ({a['size_bytes']:,} bytes), sha256 `{a['sha256']}`",
             f"- runtime: {a['runtime']}; converter: {a.get('converter', '?')}",
             f"- record: `{r['key']}` (run {r.get('run_id')}, profile {r.get('profile')}, "
             f"best epoch {r.get('best_epoch')})", "",
             "## Input and output", "",
             "- input `{name}`: {dtype} {shape} — {meaning}".format(**m["input"]),
             "- output: {dtype} {shape} — {meaning}".format(**m["output"]),
             f"- classes: {', '.join(m['class_names'])}", "",
             "## Preprocessing (inside the artifact)", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(m["preprocessing"]["steps"], 1)]
    lines += ["", "## Test metrics of the record (95% CI)", "", "| metric | value | 95% CI |",
              "|---|---|---|"]
    for name, e in m["metrics"].items():
        if isinstance(e, dict):
            ci = (f"{e['ci95_low']:.3f} – {e['ci95_high']:.3f}" if e.get("ci95_low") is not None else "n/a")
            lines.append(f"| {name} | {e['value']:.3f} | {ci} |" if e.get("value") is not None
                         else f"| {name} | n/a | n/a |")
    d = m.get("data") or {}
    lines += ["", f"Test samples: {m['metrics'].get('n_test')}.", "", "## Data provenance", "",
              f"- source: {d.get('source')}", f"- licence: {d.get('licence')}",
              f"- citation: {d.get('citation')}",
              f"- split: {d.get('n_train')} train / {d.get('n_val')} validation / {d.get('n_test')} test",
              "", "## Intended use and limits", "", f"- intended use: {m['intended_use']}",
              f"- not for: {m['not_for']}"]
    lines += [f"- {x}" for x in m["limits"]]
    return "\n".join(lines) + "\n"


def write_manifests(src: Source, folder: Path, facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Write ``<artifact>.json`` / ``<artifact>.md`` beside each artifact and ``manifest.json``."""
    base = base_manifest(src)
    index: dict[str, Any] = {"manifest_version": MANIFEST_VERSION, "record": base["record"],
                             "class_names": base["class_names"], "input": base["input"],
                             "test_inputs": "test_inputs.npy", "artifacts": {}}
    for fmt, f in facts.items():
        path = folder / artifact_file(fmt)
        art = {"format": fmt, "file": path.name, "runtime": RUNTIMES[fmt], "sha256": sha256_of(path),
               "size_bytes": size_bytes(path), **f}
        m = {**base, "artifact": art}
        if f.get("input_dtype"):  # e.g. scikit-learn ONNX: float64, as stored (see onnx_prefix)
            m["input"] = {**base["input"], "dtype": f["input_dtype"]}
        (folder / f"{path.name}.json").write_text(json.dumps(m, indent=1, default=_json) + "\n")
        (folder / f"{path.name}.md").write_text(markdown(m))
        index["artifacts"][fmt] = {k: art[k] for k in ("file", "runtime", "sha256", "size_bytes")}
    (folder / "manifest.json").write_text(json.dumps(index, indent=1, default=_json) + "\n")
    return index


def _json(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)
