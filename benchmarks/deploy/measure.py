"""The deployment benchmark: every artifact of a record run in a fresh process (``probe.py``) on the
record's raw test inputs; quality and its delta vs the Keras/scikit-learn model, agreement, size,
cold start, latency, throughput (one thread and all threads) and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import OncobenchError
from benchmarks.deploy import FLOAT_FORMATS, artifact_file
from benchmarks.deploy.manifest import size_bytes
from benchmarks.deploy.source import Source

PROBE = Path(__file__).with_name("probe.py")
QUALITY = ("accuracy", "f1_macro", "roc_auc")
FLOAT_TOLERANCE = 1e-4  # float formats must match the model's probabilities within this
PROBE_TIMEOUT_S = 600


def quality(y: np.ndarray, proba: np.ndarray) -> dict[str, float | None]:
    """accuracy, macro-F1 and ROC-AUC from the metric catalogue's score functions."""
    from benchmarks.metrics.classification import metric_from_scores

    out: dict[str, float | None] = {}
    for name in QUALITY:
        try:
            out[name] = float(metric_from_scores(name, y, proba))
        except ValueError:
            out[name] = None
    return out


def probe(artifact: Path, fmt: str, inputs: Path, threads: int, latency_calls: int,
          xnnpack: bool = True) -> tuple[dict[str, Any], np.ndarray]:
    """Run ``probe.py`` in a fresh interpreter; its JSON facts and the batch probabilities."""
    with tempfile.TemporaryDirectory(prefix="oncobench-probe-") as tmp:
        out = Path(tmp) / "probs.npy"
        cmd = [sys.executable, str(PROBE), str(artifact), fmt, str(inputs), str(out), "--threads",
               str(threads), "--latency-calls", str(latency_calls)] + ([] if xnnpack else ["--no-xnnpack"])
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env,
                              cwd=tmp)
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
            raise RuntimeError(f"exit {proc.returncode}: {tail}")
        return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(out)


def measure_format(folder: Path, fmt: str, src: Source, ref_q: dict[str, float | None],
                   latency_calls: int, log: Callable[[str], None]) -> dict[str, Any]:
    """One format's row: quality, deltas, agreement, size, cold start, latency, throughput, RSS."""
    path, inputs = folder / artifact_file(fmt), folder / "test_inputs.npy"
    xnnpack, note = True, None
    try:
        one, proba = probe(path, fmt, inputs, 1, latency_calls)
    except RuntimeError as exc:
        if not fmt.startswith("tflite"):
            raise OncobenchError(f"{src.record['key']}: {fmt} failed to run ({exc})") from None
        xnnpack, note = False, f"XNNPACK delegate failed ({exc}); measured with LiteRT's builtin kernels"
        log(f"  {src.name}: {fmt}: {note}")
        one, proba = probe(path, fmt, inputs, 1, latency_calls, xnnpack=False)
    allt, _ = probe(path, fmt, inputs, 0, max(20, latency_calls // 10), xnnpack=xnnpack)
    q = quality(src.y_test, proba)
    pred, ref_pred = proba.argmax(1), src.reference.argmax(1)
    row: dict[str, Any] = {
        **q,
        **{f"delta_{k}": (None if q[k] is None or ref_q[k] is None else q[k] - ref_q[k]) for k in QUALITY},
        "agreement": float(np.mean(pred == ref_pred)),
        "max_abs_diff": float(np.max(np.abs(proba - src.reference))) if len(proba) else 0.0,
        "size_bytes": size_bytes(path),
        "import_s": one["import_s"], "load_s": one["load_s"], "first_call_s": one["first_call_s"],
        **{k: one[k] for k in ("latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "latency_calls")},
        "samples_per_s_1_thread": one["samples_per_s"], "samples_per_s_all_threads": allt["samples_per_s"],
        "batch_size": one["batch_size"], "peak_rss_mb": one["peak_rss_mb"], "xnnpack": xnnpack,
        "project_modules_imported": one["project_modules_imported"],
    }
    if fmt in FLOAT_FORMATS:
        row["within_tolerance"] = row["max_abs_diff"] <= FLOAT_TOLERANCE
    if note:
        row["note"] = note
    return row


def deploy_folder(src: Source, folder: Path, latency_calls: int = 200,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure every artifact listed in ``folder/manifest.json``; write ``deployment.json`` there
    and return the record field ``deployment``."""
    from benchmarks.core.atomic import atomic_write_text

    index = json.loads((folder / "manifest.json").read_text())
    ref_q = quality(src.y_test, src.reference)
    formats: dict[str, Any] = {}
    for fmt in index["artifacts"]:
        log(f"  {src.name}: measuring {fmt} ...")
        formats[fmt] = measure_format(folder, fmt, src, ref_q, latency_calls, log)
    out = {
        "artifacts": str(folder), "reference": {"framework": src.framework, **ref_q},
        "n_test": int(len(src.y_test)), "threads_all": os.cpu_count(),
        "threads_note": (f"samples_per_s_1_thread: runtime limited to 1 thread; samples_per_s_all_threads: "
                         f"the runtime's default over {os.cpu_count()} CPUs; latency: 1 thread"),
        "formats": formats,
    }
    atomic_write_text(folder / "deployment.json", json.dumps(out, indent=1) + "\n")
    return out


def _f(v: Any, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def deployment_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """One row per (record, format) of the records that have a ``deployment``."""
    rows = []
    for r in records:
        dep = r.get("deployment") or {}
        ref = dep.get("reference") or {}
        if ref:
            rows.append([r["model"], r["dataset"], str(r["seed"]), ref.get("framework", "?"),
                         _f(ref.get("accuracy"), ".3f"), "", _f(ref.get("roc_auc"), ".3f"), "", "", "",
                         "", "", "", "", "", ""])
        for fmt, m in (dep.get("formats") or {}).items():
            rows.append([r["model"], r["dataset"], str(r["seed"]), fmt, _f(m.get("accuracy"), ".3f"),
                         _f(m.get("delta_accuracy"), "+.3f"), _f(m.get("roc_auc"), ".3f"),
                         _f(m.get("delta_roc_auc"), "+.3f"), _f(m.get("agreement"), ".3f"),
                         _f(m.get("max_abs_diff"), ".1e"), _f(m.get("size_bytes", 0) / 1024, ".0f"),
                         _f(m.get("load_s", 0) * 1e3, ".0f"), _f(m.get("latency_ms_p50"), ".3f"),
                         _f(m.get("latency_ms_p99"), ".3f"),
                         f"{m.get('samples_per_s_1_thread', 0):,.0f} / "
                         f"{m.get('samples_per_s_all_threads', 0):,.0f}",
                         _f(m.get("peak_rss_mb"), ".0f")])
    return rows


HEADERS = ["model", "dataset", "seed", "format", "acc", "Δacc", "AUC", "ΔAUC", "agree", "max|Δp|",
           "KiB", "load ms", "p50 ms", "p99 ms", "samples/s 1 thr / all", "RSS MiB"]


def deployment_table(records: list[dict[str, Any]], fmt: str = "github") -> str:
    """The deployment table (empty string when no record has been deployed)."""
    from tabulate import tabulate

    rows = deployment_rows(records)
    return tabulate(rows, HEADERS, tablefmt=fmt, disable_numparse=True) if rows else ""
