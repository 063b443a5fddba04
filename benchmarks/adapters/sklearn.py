"""scikit-learn adapter: fit on flattened training features, predict_proba, measure speed."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters.base import AdapterResult, RunContext, resolve_recipe
from benchmarks.adapters.features import select_features
from benchmarks.config import RunConfig
from datasets.base import Dataset
from models.registry import ModelSpec


def flat(x: np.ndarray) -> np.ndarray:
    """One row per sample (images flattened)."""
    return x.reshape(len(x), -1)


def param_count(est: Any) -> int:
    """Coefficients (+ intercepts) of a linear model, tree nodes of an ensemble, else 0."""
    if hasattr(est, "coef_"):
        return int(est.coef_.size + np.size(getattr(est, "intercept_", 0)))
    if hasattr(est, "estimators_"):
        return int(sum(t.tree_.node_count for t in est.estimators_))
    return 0


def full_proba(est: Any, x: np.ndarray, num_classes: int) -> np.ndarray:
    """``predict_proba`` over all ``num_classes`` (classes absent from training get 0)."""
    raw = est.predict_proba(flat(x))
    proba = np.zeros((len(raw), num_classes))
    proba[:, est.classes_.astype(int)] = raw
    return proba


class SklearnAdapter:
    """Fits scikit-learn estimators on the training split (the validation split is unused)."""

    def run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:
        recipe = resolve_recipe(spec, config)
        ds, selected = select_features(ds, recipe.select_features)
        est = spec.create(ds.input_shape, ds.num_classes, hp, seed=seed)
        x_train = flat(ds.train.x)
        t0 = time.perf_counter()
        est.fit(x_train, ds.train.y)
        train_time = time.perf_counter() - t0
        predict = lambda x: est.predict_proba(flat(x))  # noqa: E731
        proba = full_proba(est, ds.test.x, ds.num_classes)
        cost = {
            "train_time_s": train_time,
            "first_epoch_s": None,
            "epochs": None,
            "best_epoch": None,
            "train_samples_per_s": len(x_train) / train_time if train_time > 0 else None,
            "train_steps_measured": None,
            "steady": False,
            "inference_samples_per_s": measure.inference_throughput(
                predict, ds.test.x, config.batch_size, config.inference_min_time_s),
            "inference_batch_size": measure.timed_batch_size(config.batch_size, ds.test.x),
            **measure.latency_ms(predict, ds.test.x[:1], config.latency_calls),
            "params": param_count(est),
            "trainable_params": None,
            "checkpoint": None,
            "curves": {},
            "feature_selection": selected,
            "recipe": recipe.as_dict(),
        }
        return AdapterResult(proba, cost)


ADAPTER = SklearnAdapter()
