"""``export mlflow RESULTS_DIR``: log each record of a finished run as an MLflow run.

Per record: params (identity, the run configuration, hyper-parameters as ``hp.NAME``), metrics
(every numeric catalogue metric, learning curves per epoch), tags (status and the environment,
``env.NAME``) and the checkpoint as an artifact. Records already exported (same run folder and
record key, found by the ``oncobench.run`` / ``oncobench.key`` tags) are skipped, so exporting
again after a resume adds only the new records.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchmarks.core.errors import OncobenchError
from benchmarks.metrics import catalogue
from benchmarks.records.results import is_ok
from benchmarks.tracking import require

DEFAULT_EXPERIMENT = "oncobench"
MAX_VALUE = 5000  # MLflow caps param and tag values (6000 / 8000 characters)
IDENTITY = ("model", "framework", "dataset", "modality", "seed", "fold", "profile")


def _text(value: Any) -> str:
    return str(value)[:MAX_VALUE]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def params_of(record: dict[str, Any]) -> dict[str, str]:
    """The record's identity, run configuration and hyper-parameters, as MLflow params."""
    out = {k: _text(record.get(k)) for k in IDENTITY}
    out.update({f"config.{k}": _text(v) for k, v in (record.get("config") or {}).items()})
    out.update({f"hp.{k}": _text(v) for k, v in (record.get("hparams") or {}).items()})
    return out


def metrics_of(record: dict[str, Any]) -> list[tuple[str, float, int]]:
    """(name, value, step): every numeric catalogue metric (step 0) and the curves per epoch."""
    out = [(m, float(record[m]), 0) for m in catalogue.METRICS if _number(record.get(m))]
    for name, values in (record.get("curves") or {}).items():
        out += [(f"curve.{name}", float(v), i) for i, v in enumerate(values) if _number(v)]
    return out


def tags_of(record: dict[str, Any], run_label: str) -> dict[str, str]:
    """Status, identity and the environment (scalars) as MLflow tags."""
    tags = {"oncobench.run": run_label, "oncobench.key": _text(record["key"]),
            "oncobench.status": _text(record.get("status"))}
    if record.get("error"):
        tags["oncobench.error"] = _text(record["error"])
    for k, v in (record.get("environment") or {}).items():
        if not isinstance(v, (dict, list)):
            tags[f"env.{k}"] = _text(v)
    return tags


def export_mlflow(results_dir: Path, tracking_uri: str | None = None,
                  experiment: str = DEFAULT_EXPERIMENT) -> tuple[int, int]:
    """Log every record of ``results_dir`` to MLflow; returns (exported, already there).

    A ``file:`` tracking URI opts in to MLflow's file store (in maintenance mode since MLflow 3).
    """
    from benchmarks.records.results import load_results

    doc = load_results(results_dir)
    mlflow = require("mlflow", "mlflow", "export mlflow")
    if (tracking_uri or "").startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        return _export(doc, results_dir, tracking_uri, experiment)
    except mlflow.exceptions.MlflowException as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        where = tracking_uri or "the default tracking URI"
        raise OncobenchError(f"export mlflow to {where}: {first}") from exc


def _export(doc: dict[str, Any], results_dir: Path, tracking_uri: str | None,
            experiment: str) -> tuple[int, int]:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    run_dir = results_dir if results_dir.is_dir() else results_dir.parent
    label = run_dir.resolve().name
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    exp_id = found.experiment_id if found else client.create_experiment(experiment)
    done = {r.data.tags.get("oncobench.key") for r in client.search_runs(
        [exp_id], filter_string=f"tags.`oncobench.run` = '{label}'", max_results=50000)}
    exported = 0
    for record in doc["records"]:
        if record["key"] in done:
            continue
        run = client.create_run(exp_id, run_name=record["key"])
        rid = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            rid,
            metrics=[Metric(n, v, now, s) for n, v, s in metrics_of(record)],
            params=[Param(k, v) for k, v in params_of(record).items()],
            tags=[RunTag(k, v) for k, v in tags_of(record, label).items()],
        )
        ckpt = record.get("checkpoint")
        if ckpt and (run_dir / ckpt).is_file():
            client.log_artifact(rid, str(run_dir / ckpt), artifact_path="checkpoint")
        client.set_terminated(rid, status="FINISHED" if is_ok(record) else "FAILED")
        exported += 1
    return exported, len(doc["records"]) - exported
