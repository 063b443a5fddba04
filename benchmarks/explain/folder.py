"""Explain the records of a run folder (``explain`` command) or one fresh record (``run --explain``)."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import OncobenchError
from benchmarks.explain.record import ExplainSettings, explain_record
from benchmarks.explain.restore import checkpoint_path
from datasets.base import Dataset, LoadOptions

Log = Callable[[str], None]


def explain_fields(record: dict[str, Any], ds: Dataset, run_dir: Path, settings: ExplainSettings,
                   log: Log) -> dict[str, Any]:
    """``explain_record``, with a failure kept in the record (``explanations.error``) instead of
    failing the finished run."""
    try:
        return explain_record(record, ds, run_dir, settings, log)
    except Exception as exc:  # noqa: BLE001 - the run itself succeeded; say why explaining did not
        line = (str(exc).strip().splitlines() or [""])[0]
        log(f"  {record.get('key')}: explaining failed: {type(exc).__name__}: {line}")
        return {"explanations": {"error": f"{type(exc).__name__}: {line}"[:500]}, "faithfulness": None,
                "explain_time_s": None}


def load_options(meta: dict[str, Any], data_dir: Path | None) -> LoadOptions:
    """The run's data options (``meta.experiment.data_options``), with ``data_dir``."""
    saved = (meta.get("experiment") or {}).get("data_options") or {}
    names = {f.name for f in fields(LoadOptions)}
    return LoadOptions(**{k: v for k, v in saved.items() if k in names}, data_dir=data_dir)


def check_checkpoints(records: list[dict[str, Any]], run_dir: Path) -> None:
    """Every Keras record has its checkpoint file, else a one-line error (before any work)."""
    for r in records:
        if r.get("framework") == "keras":
            checkpoint_path(r, run_dir)


def _same_test_split(record: dict[str, Any], ds: Dataset) -> None:
    labels = record.get("test_labels")
    if labels is not None and not np.array_equal(np.asarray(labels), ds.test.y):
        raise OncobenchError(f"{record.get('key')}: the reloaded test split differs from the run's "
                             "(the data or its options changed); rerun the benchmark")


def explain_folder(run_dir: Path, settings: ExplainSettings, *, data_dir: Path | None = None,
                   log: Log = print) -> list[dict[str, Any]]:
    """Explain every finished record of ``run_dir``; rewrite results.json/.csv and summary.md.

    Keras models are rebuilt and their checkpoints loaded (never retrained); returns the records.
    """
    from benchmarks.records.results import ResultsStore, is_ok, load_results
    from benchmarks.records.tables import finish
    from datasets.registry import get_dataset

    run_dir = Path(run_dir)
    if run_dir.is_file():
        run_dir = run_dir.parent
    doc = load_results(run_dir)
    records = [r for r in doc["records"] if is_ok(r)]
    if not records:
        raise OncobenchError(f"{run_dir}: no finished run to explain")
    check_checkpoints(records, run_dir)
    options = load_options(doc.get("meta") or {}, data_dir)
    store = ResultsStore(run_dir)
    records.sort(key=lambda r: (str(r["dataset"]), int(r["seed"]), -1 if r.get("fold") is None
                                else int(r["fold"])))
    cache: dict[tuple, Dataset] = {}
    for rec in records:
        ck = (rec["dataset"], rec["seed"], rec.get("fold"))
        if ck not in cache:
            cache.clear()
            cache[ck] = get_dataset(rec["dataset"]).load(replace(options, seed=int(rec["seed"]),
                                                                 fold=rec.get("fold")))
        ds = cache[ck]
        _same_test_split(rec, ds)
        log(f"explaining {rec['key']} ...")
        rec = {**rec, **explain_fields(rec, ds, run_dir, settings, log)}
        store.append(rec)
    finish(store)
    return store.records
