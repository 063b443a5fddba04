"""Run one (model, dataset, seed, config) and return one record.

Orchestration only: check the modality, resolve hyper-parameters, hand training to the
model's framework adapter (``benchmarks.adapters``), score its test-set probabilities and
assemble the record. The harness sees a ``ModelSpec`` and a ``Dataset``, never a layer.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters import RunContext, adapter_for
from benchmarks.adapters.base import resolve_hparams
from benchmarks.config import RunConfig, for_pair
from benchmarks.core.errors import OncobenchError
from benchmarks.metrics.classification import classification_metrics, degenerate_reason, probabilities
from benchmarks.records.results import FEDERATED_FIELDS, SCHEMA_VERSION, record_key
from datasets.base import Dataset
from models.registry import ModelSpec


def now() -> str:
    """The current UTC time, ISO-8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_header(
    spec: ModelSpec,
    dataset: str,
    modality: str,
    seed: int,
    fold: int | None,
    config: RunConfig,
    *,
    run_id: str,
    environment: dict[str, Any] | None,
    status: str = "ok",
    error: str | None = None,
    started_at: str | None = None,
) -> dict[str, Any]:
    """The fields every record has, ok or failed: identity, status, device, environment and
    timestamps (``started_at`` only when given; ``finished_at`` is now)."""
    env = dict(environment or {})
    header = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "key": record_key(spec.name, dataset, seed, fold, config.variant),
        "status": status,
        "error": error,
        "model": spec.name,
        "framework": spec.framework,
        "dataset": dataset,
        "modality": modality,
        "seed": seed,
        "fold": fold,
        "profile": config.profile,
        "device_kind": env.get("device_kind"),
        "device_name": env.get("device_name"),
        "environment": env,
    }
    if started_at is not None:
        header["started_at"] = started_at
    header["finished_at"] = now()
    return header


def run_one(
    spec: ModelSpec,
    dataset: Dataset,
    seed: int,
    config: RunConfig,
    *,
    run_dir: Path,
    environment: dict[str, Any] | None = None,
    run_id: str = "",
    callbacks: list | None = None,
) -> dict[str, Any]:
    """Train and evaluate ``spec`` on ``dataset`` with ``seed``; return one record.

    ``callbacks`` are extra framework hooks (Keras callbacks; ignored by scikit-learn).
    Errors propagate; the caller records them as failed runs.
    """
    if not spec.accepts(dataset.modality):
        raise OncobenchError(f"model {spec.name!r} does not accept {dataset.modality} data "
                             f"(dataset {dataset.name!r})")
    config, tuned = for_pair(config, spec.name, dataset.name)
    hp = resolve_hparams(spec, config)
    adapter = adapter_for(spec, config)
    started = now()
    ctx = RunContext(Path(run_dir), record_key(spec.name, dataset.name, seed, dataset.fold, config.variant),
                     list(callbacks or []))
    out = adapter.run(spec, dataset, seed, config, hp, ctx)
    proba = probabilities(out.proba, dataset.num_classes)
    quality = classification_metrics(dataset.test.y, proba, dataset.class_names)
    body = {
        "hparams": hp,
        "tuned": tuned,
        "config": {k: v for k, v in config.as_dict().items() if k not in ("hparams", "seeds")},
        "deterministic": config.deterministic,
        "precision": config.precision,
        **quality,
        "degenerate": degenerate_reason(dataset.test.y, proba, dataset.class_names),
        "class_names": list(dataset.class_names),
        "test_labels": dataset.test.y.tolist(),
        "test_scores": np.round(proba, 6).tolist(),
        **dict.fromkeys(FEDERATED_FIELDS),  # null unless the federated adapter fills them
        **out.cost,
        "peak_rss_mb": measure.peak_rss_mb(),
        "data": dataset.summary(),
        "faithfulness": None,  # filled by run --explain / explain (benchmarks.explain)
        "explain_time_s": None,
        "explanations": None,
    }
    header = record_header(spec, dataset.name, dataset.modality, seed, dataset.fold, config,
                           run_id=run_id, environment=environment, started_at=started)
    return {**header, **body}
