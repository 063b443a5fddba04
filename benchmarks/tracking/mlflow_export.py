"""``export mlflow RESULTS_DIR``: a finished run as MLflow runs, the way MLflow users read them.

- One parent run per run folder (one ``run`` invocation; a resumed run adds to the same parent),
  named after the folder, with a nested child run per record (``mlflow.parentRunId``) named
  ``model / dataset / seed N`` (``/ fold K``, ``/ variant``).
- Start and end times are the record's own (``started_at``/``finished_at``, to the second); the
  parent spans its children. Curves are per-epoch histories (``curve.loss``, ... step = epoch).
  The record holds no wall clock per epoch, so each point's timestamp is the record's start plus
  the measured first epoch, then the rest of the measured training time in equal parts.
- Params: identity, run configuration (``config.*``), hyper-parameters (``hp.*``); metrics: every
  numeric catalogue metric; tags: status, environment (``env.*``), ``mlflow.source.*`` (the
  command, its git commit); the experiment is tagged a classic-ML one
  (``mlflow.experimentKind = custom_model_development``), not MLflow 3's GenAI view.
- ``log_input``: the dataset (name, sha256 of its files, source, split sizes).
- ``log_figure``: the confusion matrix and ROC of the record.
- ``log_model``: a Keras record as ``mlflow.keras`` (rebuilt, its checkpoint's weights loaded),
  a scikit-learn one as ``mlflow.sklearn`` (skops format, no pickle; refitted with the record's
  seed, as ``explain`` does: none is stored), so ``mlflow.pyfunc.load_model(...).predict`` gives
  class probabilities for inputs as the model saw them (preprocessed; flattened for
  scikit-learn). ``models=False`` skips this (it loads each dataset).

Records already exported (same run folder and key: tags ``oncobench.run`` / ``oncobench.key``)
are skipped, so exporting again after a resume adds only the new records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from benchmarks.core.errors import OncobenchError
from benchmarks.metrics import catalogue
from benchmarks.records.results import is_ok
from benchmarks.tracking import require

DEFAULT_EXPERIMENT = "oncobench"
MAX_VALUE = 5000  # MLflow caps param and tag values (6000 / 8000 characters)
IDENTITY = ("model", "framework", "dataset", "modality", "seed", "fold", "profile")
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")  # MLflow 3: classic ML
PARENT_TAG = "oncobench.parent"


def _text(value: Any) -> str:
    return str(value)[:MAX_VALUE]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def ms(stamp: str | None) -> int | None:
    """An ISO-8601 time (the record's ``started_at``) in epoch milliseconds; None if absent."""
    if not stamp:
        return None
    try:
        return int(datetime.fromisoformat(str(stamp)).timestamp() * 1000)
    except ValueError:
        return None


def run_name(record: dict[str, Any]) -> str:
    """``dnn / wisconsin / seed 0`` (``/ fold 2``, ``/ fedavg-...``): short enough for the UI."""
    parts = [str(record.get("model")), str(record.get("dataset")), f"seed {record.get('seed')}"]
    if record.get("fold") is not None:
        parts.append(f"fold {record['fold']}")
    variant = str(record.get("key", "")).split("|")[4:]
    return " / ".join(parts + [v for v in variant if v and v != "-"])


def params_of(record: dict[str, Any]) -> dict[str, str]:
    """The record's identity, run configuration and hyper-parameters, as MLflow params."""
    out = {k: _text(record.get(k)) for k in IDENTITY}
    out.update({f"config.{k}": _text(v) for k, v in (record.get("config") or {}).items()})
    out.update({f"hp.{k}": _text(v) for k, v in (record.get("hparams") or {}).items()})
    return out


def epoch_times(record: dict[str, Any], n: int, start: int, end: int) -> list[int]:
    """Timestamps (ms) of ``n`` epochs: start + the first epoch's measured time, then the rest of
    the measured training time in equal parts; distinct, increasing, never past ``end``."""
    train = float(record.get("train_time_s") or 0.0) * 1000
    first = float(record.get("first_epoch_s") or 0.0) * 1000 or (train / n if n else 0.0)
    rest = (train - first) / (n - 1) if n > 1 else 0.0
    out: list[int] = []
    for i in range(n):
        t = min(end, int(start + first + i * max(rest, 0.0)))
        out.append(max(t, out[-1] + 1) if out else t)
    return out


def metrics_of(record: dict[str, Any], start: int, end: int) -> list[tuple[str, float, int, int]]:
    """(name, value, timestamp ms, step): the catalogue metrics at the end (step 0), the curves
    per epoch (step = epoch, from 0)."""
    out = [(m, float(record[m]), end, 0) for m in catalogue.METRICS if _number(record.get(m))]
    curves = record.get("curves") or {}
    n = max((len(v) for v in curves.values()), default=0)
    stamps = epoch_times(record, n, start, end)
    for name, values in curves.items():
        out += [(f"curve.{name}", float(v), stamps[i], i) for i, v in enumerate(values) if _number(v)]
    return out


def source_tags(meta: dict[str, Any], env: dict[str, Any]) -> dict[str, str]:
    """``mlflow.source.*``: the command that made the run and its git commit."""
    from mlflow.utils import mlflow_tags as t

    tags = {t.MLFLOW_SOURCE_TYPE: "LOCAL", t.MLFLOW_SOURCE_NAME: _text(meta.get("command") or "oncobench")}
    if env.get("git_commit"):
        tags[t.MLFLOW_GIT_COMMIT] = _text(env["git_commit"])
    return tags


def tags_of(record: dict[str, Any], run_label: str, meta: dict[str, Any]) -> dict[str, str]:
    """Status, identity, source and the environment (scalars) as MLflow tags."""
    tags = {"oncobench.run": run_label, "oncobench.key": _text(record["key"]),
            "oncobench.status": _text(record.get("status"))}
    if record.get("error"):
        tags["oncobench.error"] = _text(record["error"])
    env = record.get("environment") or {}
    for k, v in env.items():
        if not isinstance(v, (dict, list)):
            tags[f"env.{k}"] = _text(v)
    tags.update(source_tags(meta, env))
    return tags


def dataset_entity(record: dict[str, Any]):
    """The record's dataset as an MLflow ``Dataset`` (digest: sha256 over its files' sha256)."""
    from mlflow.entities import Dataset

    data = record.get("data") or {}
    files = data.get("files") or {}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    profile = {k: data.get(k) for k in ("n_train", "n_val", "n_test", "input_shape", "n_features",
                                        "preprocessing", "fold", "cv_folds") if data.get(k) is not None}
    schema = {"class_names": record.get("class_names"), "modality": record.get("modality")}
    return Dataset(name=str(record.get("dataset")), digest=digest, source_type="oncobench",
                   source=_text(data.get("source") or record.get("dataset")),
                   schema=json.dumps(schema), profile=json.dumps(profile))


@dataclass
class Exported:
    """What ``export_mlflow`` did."""

    tracking_uri: str
    experiment_id: str
    exported: int = 0
    skipped: int = 0
    parent_run_id: str | None = None
    models: dict[str, str] = field(default_factory=dict)  # record key -> model URI
    notes: list[str] = field(default_factory=list)  # records whose model could not be logged


def resolved_uri(tracking_uri: str | None) -> tuple[str, str]:
    """(the tracking URI used, where it came from)."""
    if tracking_uri:
        return tracking_uri, "--tracking-uri"
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env, "MLFLOW_TRACKING_URI"
    import mlflow

    return mlflow.get_tracking_uri(), "MLflow's default"


def export_mlflow(results_dir: Path, tracking_uri: str | None = None,
                  experiment: str = DEFAULT_EXPERIMENT, *, models: bool = True,
                  data_dir: Path | None = None, log: Callable[[str], None] = lambda s: None) -> Exported:
    """Log every record of ``results_dir`` to MLflow (see the module docstring).

    A ``file:`` tracking URI opts in to MLflow's file store (in maintenance mode since MLflow 3).
    """
    from benchmarks.records.results import load_results

    doc = load_results(results_dir)
    mlflow = require("mlflow", "mlflow", "export mlflow")
    uri, _ = resolved_uri(tracking_uri)
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    logger = logging.getLogger("mlflow")  # its INFO lines (creating database tables, ...)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return _export(doc, Path(results_dir), uri, experiment, models, data_dir, log)
    except mlflow.exceptions.MlflowException as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise OncobenchError(f"export mlflow to {uri}: {first}") from exc
    except OSError as exc:  # a file: store that cannot be created or written (issue 27)
        raise OncobenchError(f"export mlflow to {uri}: cannot write {exc.filename or ''} "
                             f"({exc.strerror}); pass a writable --tracking-uri, e.g. file:///tmp/mlruns") \
            from None
    finally:
        logger.setLevel(level)


def _experiment(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return client.create_experiment(name, tags=dict([EXPERIMENT_KIND]))
    if found.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:
        client.set_experiment_tag(found.experiment_id, *EXPERIMENT_KIND)
    return found.experiment_id


def _parent(client: Any, exp_id: str, label: str, meta: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """The parent run of this run folder: found by its tags, else created."""
    found = client.search_runs([exp_id], filter_string=f"tags.`oncobench.run` = '{label}' and "
                                                       f"tags.`{PARENT_TAG}` = 'true'", max_results=1)
    if found:
        return found[0].info.run_id
    starts = [s for s in (ms(r.get("started_at")) for r in records) if s is not None]
    env = meta.get("environment") or next((r.get("environment") for r in records if r.get("environment")), {})
    tags = {"oncobench.run": label, PARENT_TAG: "true", **source_tags(meta, env or {})}
    run = client.create_run(exp_id, start_time=min(starts) if starts else None, run_name=label, tags=tags)
    params = {"profile": meta.get("profile"), "seeds": meta.get("seeds"), "command": meta.get("command")}
    from mlflow.entities import Param

    client.log_batch(run.info.run_id, params=[Param(k, _text(v)) for k, v in params.items() if v is not None])
    return run.info.run_id


def _export(doc: dict[str, Any], results_dir: Path, uri: str, experiment: str, models: bool,
            data_dir: Path | None, log: Callable[[str], None]) -> Exported:
    from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    run_dir = results_dir if results_dir.is_dir() else results_dir.parent
    label = run_dir.resolve().name
    meta = doc.get("meta") or {}
    client = MlflowClient(tracking_uri=uri)
    exp_id = _experiment(client, experiment)
    out = Exported(uri, exp_id)
    done = {r.data.tags.get("oncobench.key") for r in client.search_runs(
        [exp_id], filter_string=f"tags.`oncobench.run` = '{label}'", max_results=50000)}
    todo = [r for r in doc["records"] if r["key"] not in done]
    out.skipped = len(doc["records"]) - len(todo)
    if not todo:
        return out
    parent = _parent(client, exp_id, label, meta, doc["records"])
    out.parent_run_id = parent
    loader = _Models(run_dir, meta, data_dir) if models else None
    for record in todo:
        start = ms(record.get("started_at"))
        end = ms(record.get("finished_at")) or start
        start = start if start is not None else end
        tags = {**tags_of(record, label, meta), MLFLOW_PARENT_RUN_ID: parent}
        run = client.create_run(exp_id, start_time=start, run_name=run_name(record), tags=tags)
        rid = run.info.run_id
        client.log_batch(
            rid,
            metrics=[Metric(n, v, t, s) for n, v, t, s in metrics_of(record, start or 0, end or 0)],
            params=[Param(k, v) for k, v in params_of(record).items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if record.get("data"):
            client.log_inputs(rid, datasets=[DatasetInput(dataset_entity(record),
                                                          [InputTag("mlflow.data.context", "training")])])
        if is_ok(record):
            from benchmarks.tracking.figures import figures

            for name, fig in figures(record).items():
                client.log_figure(rid, fig, f"figures/{name}.png")
        ckpt = record.get("checkpoint")
        if ckpt and (run_dir / ckpt).is_file():
            client.log_artifact(rid, str(run_dir / ckpt), artifact_path="checkpoint")
        if loader is not None and is_ok(record):
            try:
                model_uri = loader.log(record, rid, uri)
                out.models[record["key"]] = model_uri
                client.set_tag(rid, "oncobench.model_uri", model_uri)
            except Exception as exc:  # noqa: BLE001 - the record is exported; say why its model is not
                line = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"[:300]
                out.notes.append(f"{record['key']}: model not logged ({line})")
                client.set_tag(rid, "oncobench.model_error", line)
                log(f"  {run_name(record)}: model not logged ({line})")
        client.set_terminated(rid, status="FINISHED" if is_ok(record) else "FAILED", end_time=end)
        out.exported += 1
        log(f"  {run_name(record)}")
    ends = [e for e in (ms(r.get("finished_at")) for r in doc["records"]) if e is not None]
    failed = any(not is_ok(r) for r in doc["records"])
    client.set_terminated(parent, status="FAILED" if failed else "FINISHED",
                          end_time=max(ends) if ends else None)
    return out


class _Models:
    """Logs a record's trained model (see the module docstring), one dataset in memory at a time."""

    def __init__(self, run_dir: Path, meta: dict[str, Any], data_dir: Path | None):
        from benchmarks.explain.folder import load_options

        self.run_dir = run_dir
        self.options = load_options(meta, data_dir)
        self.cache: dict[tuple, Any] = {}

    def dataset(self, record: dict[str, Any]):
        from datasets.registry import get_dataset

        key = (record["dataset"], record["seed"], record.get("fold"))
        if key not in self.cache:
            self.cache.clear()
            self.cache[key] = get_dataset(record["dataset"]).load(
                replace(self.options, seed=int(record["seed"]), fold=record.get("fold")))
        return self.cache[key]

    def log(self, record: dict[str, Any], run_id: str, uri: str) -> str:
        """Log the model in the record's flavour under ``run_id``; returns its model URI."""
        import mlflow
        import numpy as np
        from mlflow.models import infer_signature
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri

        from benchmarks.explain.record import model_view
        from benchmarks.explain.restore import restore

        ds, _ = model_view(record, self.dataset(record))
        target, facts = restore(record, ds, self.run_dir)
        x = np.asarray(ds.test.floats(slice(0, min(len(ds.test), 5))), dtype=np.float32)
        with _use_tracking_uri(uri), mlflow.start_run(run_id=run_id, nested=True), \
                contextlib.redirect_stdout(None):
            if target.framework == "keras":
                import keras
                import tensorflow as tf

                reqs = [f"tensorflow=={tf.__version__}", f"keras=={keras.__version__}"]
                if record["model"] == "mobilenet_v2_hub":
                    import tensorflow_hub

                    reqs.append(f"tensorflow-hub=={tensorflow_hub.__version__}")
                signature = infer_signature(x, np.asarray(target.model.predict_on_batch(x)))
                info = mlflow.keras.log_model(target.model, name="model", signature=signature,
                                              pip_requirements=reqs)
            else:
                import sklearn

                from benchmarks.adapters.sklearn import flat

                xf = flat(x)
                signature = infer_signature(xf, target.model.predict_proba(xf))
                info = mlflow.sklearn.log_model(target.model, name="model", signature=signature,
                                                serialization_format="skops",
                                                pyfunc_predict_fn="predict_proba",
                                                pip_requirements=[f"scikit-learn=={sklearn.__version__}",
                                                                  "skops"])
            mlflow.set_tag("oncobench.model_restored", _text(facts.get("restored")))
        return info.model_uri
