"""One finished record of a run folder, ready to export: its restored model (the explain code's
``restore``: Keras checkpoint loaded, scikit-learn refitted with the record's seed), the raw inputs
and the preprocessing to bake in, and the reference predictions on the raw test inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import OncobenchError
from benchmarks.deploy.preprocessing import Prep, prep_for, with_options
from datasets.base import Dataset


@dataclass
class Source:
    """What an export needs from a record."""

    run_dir: Path
    record: dict[str, Any]
    meta: dict[str, Any]
    ds: Dataset  # as the model saw it (the recipe's feature selection applied)
    prep: Prep
    model: Any  # keras.Model or a fitted scikit-learn estimator
    framework: str
    raw_train: np.ndarray
    raw_test: np.ndarray
    y_test: np.ndarray
    reference: np.ndarray  # the restored model's test probabilities (n, k)
    restored: dict[str, Any]

    @property
    def name(self) -> str:
        r = self.record
        fold = "" if r.get("fold") is None else f"-f{r['fold']}"
        ds = str(r["dataset"])  # folder:/a/b/scans -> folder-scans (a path is no folder name)
        ds = f"{ds.split(':', 1)[0]}-{Path(ds.split(':', 1)[1]).name}" if ":" in ds else ds
        return f"{r['model']}-{ds}-s{r['seed']}{fold}"


def find_records(run_dir: Path, model: str | list[str] | None = None,
                 dataset: str | list[str] | None = None,
                 seed: int | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The records of ``run_dir`` matching the filters (a name or a list of names; failed ones
    included), and the meta. One-line errors for a missing folder or no match."""
    from benchmarks.records.results import load_results

    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise OncobenchError(f"{run_dir}: no such results folder")
    doc = load_results(run_dir.parent if run_dir.is_file() else run_dir)
    models = [model] if isinstance(model, str) else model
    datasets = [dataset] if isinstance(dataset, str) else dataset
    picked = [r for r in doc["records"] if (models is None or r.get("model") in models)
              and (datasets is None or r.get("dataset") in datasets)
              and (seed is None or int(r.get("seed", -1)) == seed)]
    if not picked:
        what = ", ".join(f"{k} {','.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in (("model", models), ("dataset", datasets), ("seed", seed))
                         if v is not None) or "any record"
        raise OncobenchError(f"{run_dir}: no record for {what}; see its results.json "
                             "(list the keys with: python -m benchmarks report RESULTS_DIR)")
    return picked, doc.get("meta") or {}


def check_exportable(record: dict[str, Any], run_dir: Path) -> None:
    """Fail in one line for a failed record, an unknown framework or a missing checkpoint."""
    from benchmarks.explain.restore import checkpoint_path
    from benchmarks.records.results import is_ok

    key = record.get("key")
    if not is_ok(record):
        why = ((record.get("error") or "?").splitlines() or ["?"])[0][:120]
        raise OncobenchError(f"{key}: the record failed ({why}); "
                             "only finished records can be exported (rerun it: run --retry-failed)")
    if record.get("framework") not in ("keras", "sklearn"):
        raise OncobenchError(f"{key}: cannot export framework {record.get('framework')!r} (keras, sklearn)")
    if record.get("federated"):
        raise OncobenchError(f"{key}: federated records keep no checkpoint to export; export the "
                             "centralised record of the same pair")
    if record.get("framework") == "keras":
        checkpoint_path(record, run_dir)


def load_source(run_dir: Path, record: dict[str, Any], meta: dict[str, Any],
                data_dir: Path | None = None) -> Source:
    """Restore ``record``'s model and refit the preprocessing on its training split."""
    from benchmarks.explain.folder import _same_test_split, load_options
    from benchmarks.explain.record import model_view
    from benchmarks.explain.restore import restore
    from datasets.registry import get_dataset

    run_dir = Path(run_dir)
    check_exportable(record, run_dir)
    options = with_options(load_options(meta, data_dir), int(record["seed"]), record.get("fold"))
    ds = get_dataset(record["dataset"]).load(options)
    _same_test_split(record, ds)
    view, selected = model_view(record, ds)
    prep, raw_train, raw_test = prep_for(record["dataset"], options, view, selected)
    target, facts = restore(record, view, run_dir)
    reference = np.asarray(target.predict_proba(view.test.floats()), dtype=np.float64)
    return Source(run_dir, record, meta, view, prep, target.model, record["framework"], raw_train,
                  raw_test, np.asarray(view.test.y), reference, facts)
