"""scikit-learn adapter: fit on flattened training features, predict_proba, measure speed."""

from __future__ import annotations

import contextlib
import time
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters.base import AdapterResult, RunContext, resolve_recipe
from benchmarks.adapters.features import select_features
from benchmarks.config import RunConfig
from benchmarks.core.errors import DataError
from datasets.base import Dataset
from models.registry import ModelSpec


def flat(x: np.ndarray) -> np.ndarray:
    """One row per sample (images flattened)."""
    return x.reshape(len(x), -1)


FLOAT64_COPIES = 2  # an estimator's float64 copy of the training features, plus our float32 one (~1.5)


def training_bytes(split: Any) -> int:
    """Memory the in-core estimators need for ``split``: its features as float64, twice over."""
    return FLOAT64_COPIES * 8 * len(split) * int(np.prod(split.x.shape[1:], dtype=np.int64))


def check_fits(spec: ModelSpec, ds: Dataset) -> None:
    """Refuse, in one line and before any pixel is read, training that would not fit the data
    memory budget (``--cache-memory-gb``): these estimators hold every feature in memory."""
    need, budget = training_bytes(ds.train), ds.memory_budget
    if budget is not None and need > budget:
        n, feats = len(ds.train), int(np.prod(ds.train.x.shape[1:], dtype=np.int64))
        raise TooLarge(
            f"model {spec.name!r} on {ds.name}: {n:,} samples x {feats:,} features need about "
            f"{need / 2**30:.1f} GiB in memory (float64), over the data budget of {budget / 2**30:.1f} GiB "
            "(--cache-memory-gb); use a Keras model (cnn, mobilenet_v2_hub), which streams, or fewer "
            "pixels (--image-size, a smaller MedMNIST size)")


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


PREDICT_ROWS = 4096  # test rows predicted at a time


def blas_threads(config: RunConfig) -> AbstractContextManager[Any]:
    """Under ``--deterministic``, one BLAS thread: a solver's iterates (lbfgs over 4,096 pixel
    features) depend on how many threads split each dot product, so the same seed would give
    other scores in a process with another thread count (a Ray task, ``--jobs N``, another
    machine). Otherwise no limit."""
    if not config.deterministic:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def single_row_latency(est: Any, predict: Any, row: np.ndarray, calls: int) -> dict[str, Any]:
    """Batch-of-one latency as a deployed estimator answers one request: with ``n_jobs=1``
    (a forest's joblib dispatch across cores for one row cost 31-43 ms of the latency); the
    record's ``latency_n_jobs`` says so. Estimators without ``n_jobs`` are timed as they are."""
    if "n_jobs" not in est.get_params(deep=False):
        return {**measure.latency_ms(predict, row, calls), "latency_n_jobs": None}
    before = est.get_params(deep=False)["n_jobs"]
    est.set_params(n_jobs=1)
    try:
        return {**measure.latency_ms(predict, row, calls), "latency_n_jobs": 1}
    finally:
        est.set_params(n_jobs=before)


class TooLarge(DataError):
    """Training data larger than the memory budget: the suite stops in one line (exit 2)."""


class SklearnAdapter:
    """Fits scikit-learn estimators on the training split (the validation split is unused)."""

    def run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:
        with blas_threads(config):
            return self._run(spec, ds, seed, config, hp)

    def _run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
             hp: dict[str, Any]) -> AdapterResult:
        recipe = resolve_recipe(spec, config)
        check_fits(spec, ds)
        ds, selected = select_features(ds, recipe.select_features)
        est = spec.create(ds.input_shape, ds.num_classes, hp, seed=seed)
        x_train = flat(ds.train.floats())
        t0 = time.perf_counter()
        est.fit(x_train, ds.train.y)
        train_time = time.perf_counter() - t0
        predict = lambda x: est.predict_proba(flat(x))  # noqa: E731
        proba = np.concatenate([full_proba(est, ds.test.floats(slice(i, i + PREDICT_ROWS)), ds.num_classes)
                                for i in range(0, len(ds.test), PREDICT_ROWS)])
        sample, timed_batch = measure.timing_sample(ds.test, config.batch_size)
        cost = {
            "train_time_s": train_time,
            "first_epoch_s": None,
            "epochs": None,
            "best_epoch": None,
            "train_samples_per_s": len(x_train) / train_time if train_time > 0 else None,
            "train_steps_measured": None,
            "steady": False,
            "inference_samples_per_s": measure.inference_throughput(
                predict, sample, timed_batch, config.inference_min_time_s),
            "inference_batch_size": measure.timed_batch_size(timed_batch, sample),
            **single_row_latency(est, predict, sample[:1], config.latency_calls),
            "params": param_count(est),
            "trainable_params": None,
            "checkpoint": None,
            "curves": {},
            "data_cached": True,  # in-core estimators hold every feature (check_fits bounds it)
            **measure.memory_fields(ds),
            "feature_selection": selected,
            "recipe": recipe.as_dict(),
        }
        val_proba = full_proba(est, ds.val.floats(), ds.num_classes) if len(ds.val) else None
        return AdapterResult(proba, cost, val_proba)


ADAPTER = SklearnAdapter()
