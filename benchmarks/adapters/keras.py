"""Keras adapter: build, compile, a ``tf.data`` pipeline, fit with early stopping (and an
optional fine-tuning phase), predict, and measure speed, memory and FLOPs.

TensorFlow and Keras are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters.base import AdapterResult, RunContext
from benchmarks.config import RunConfig
from benchmarks.errors import OncobenchError
from benchmarks.paths import safe_filename
from datasets.base import Dataset, is_lazy, to_float
from models.registry import ModelSpec


def make_pipeline(x: Any, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int,
                  deterministic: bool = True, scale: float = 1.0, memory_budget: int | None = None):
    """``tf.data`` over sample indices: seeded shuffle (train only) -> batch -> gather -> float.

    The pixels are never copied whole into the pipeline: index batches gather rows from ``x``.
    ``x`` in memory and within ``memory_budget`` bytes (None: no limit) is held as one tensor
    and gathered in the graph (the cached path); otherwise rows are read per batch from ``x``
    (a lazily read array or memory map) in a ``numpy_function``. Each batch becomes float32
    ``x / scale`` in the pipeline, so stored uint8 pixels are converted one batch at a time
    and the models keep taking [0, 1] floats. The batch is at most ``len(x)``.
    """
    import tensorflow as tf

    n = len(x)
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(max(1, min(batch_size, n)))
    row_shape = tuple(int(d) for d in x.shape[1:])
    if pipeline_caches(x, memory_budget):
        xt, yt = tf.constant(x), tf.constant(y)
        ds = ds.map(lambda i: (tf.gather(xt, i), tf.gather(yt, i)))
    else:
        dtype = tf.as_dtype(x.dtype)

        def rows(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.ascontiguousarray(x[i]), np.asarray(y[i], dtype=np.int64)

        def fetch(i):
            xb, yb = tf.numpy_function(rows, [i], (dtype, tf.int64), stateful=False)
            xb.set_shape((None, *row_shape))
            yb.set_shape((None,))
            return xb, yb

        ds = ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if x.dtype != np.float32 or scale != 1.0:
        divisor = tf.constant(scale, tf.float32)
        ds = ds.map(lambda xb, yb: (tf.math.truediv(tf.cast(xb, tf.float32), divisor), yb))
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    return ds.with_options(options)


def pipeline_caches(x: Any, memory_budget: int | None) -> bool:
    """True when ``make_pipeline`` holds ``x`` in memory as one tensor (in memory, within budget)."""
    return not is_lazy(x) and (memory_budget is None or x.nbytes <= memory_budget)


def optimizer(name: str, lr: float):
    """A Keras optimizer by name ("adam", "rmsprop") at learning rate ``lr``."""
    import keras

    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=lr)


def compile_model(model: Any, num_classes: int, config: RunConfig, lr: float) -> None:
    """Compile as every run does: the loss by task, accuracy, the config's XLA/steps settings."""
    loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(
        optimizer=optimizer(config.optimizer, lr),
        loss=loss,
        metrics=["accuracy"],
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )


class TrainingDiverged(OncobenchError):
    """The loss became NaN or infinite: the run fails with this reason in its record."""


def divergence_guard():
    """A Keras callback that stops training when ``loss`` or ``val_loss`` is not finite at an
    epoch's end; ``reason`` then says which and when (None while training is sound)."""
    import keras

    class DivergenceGuard(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.reason: str | None = None

        def on_epoch_end(self, epoch, logs=None):
            for name in ("loss", "val_loss"):
                value = (logs or {}).get(name)
                if value is not None and self.reason is None and not math.isfinite(float(value)):
                    self.reason = f"{name} became {float(value)} at epoch {epoch + 1}"
                    self.model.stop_training = True

    return DivergenceGuard()


def predict_batches(predict, x: Any, batch_size: int, scale: float = 1.0) -> np.ndarray:
    """``predict`` over ``x`` in batches (each read and converted to float32 ``/ scale`` on its
    own, so a split on disk never enters memory whole), concatenated."""
    return np.concatenate([np.asarray(predict(to_float(x[i:i + batch_size], scale)))
                           for i in range(0, len(x), batch_size)])


def _seed_and_policy(seed: int, config: RunConfig) -> None:
    """A fresh session: seeds, op determinism as configured, the precision policy."""
    import keras
    import tensorflow as tf

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # process-global (no public API to undo it): switch it off after a deterministic run
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()
    keras.mixed_precision.set_global_policy(config.precision)


_STRATEGIES: dict[str, Any] = {}


def strategy_for(name: str):
    """The ``tf.distribute`` strategy of ``--strategy`` (None for "none"), one per process:
    "mirrored" over the visible GPUs (else every logical CPU device), "multiworker" from
    ``TF_CONFIG``. Created on first use, before the run builds anything."""
    import tensorflow as tf

    if name == "none":
        return None
    if name not in _STRATEGIES:
        if name == "mirrored":
            gpus = tf.config.list_logical_devices("GPU")
            devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
            _STRATEGIES[name] = tf.distribute.MirroredStrategy(devices)
        elif name == "multiworker":
            _STRATEGIES[name] = tf.distribute.MultiWorkerMirroredStrategy()
        else:
            raise OncobenchError(f"--strategy {name!r}: valid: none, mirrored, multiworker")
    return _STRATEGIES[name]


def _distributed(ds: Any, strategy: Any) -> Any:
    """Shard a multi-worker input pipeline by data (the index pipeline reads no files)."""
    import tensorflow as tf

    if strategy is None:
        return ds
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def _fit_scope(model: Any, strategy: Any, name: str, data: Any):
    """Where ``fit`` runs. Multi-worker: Keras 3 reduces a first distributed batch eagerly to
    build the model, which fails across workers (keras-team/keras#20585); build it here from
    one local batch in the strategy's scope instead, and skip that step in ``fit``."""
    import contextlib

    if name != "multiworker" or strategy is None:
        return contextlib.nullcontext()
    with strategy.scope():
        model._symbolic_build(data_batch=next(iter(data)))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    return contextlib.nullcontext()


def _phases(spec: ModelSpec, config: RunConfig, hp: dict[str, Any]) -> list[tuple[str, float, int]]:
    """(phase, learning rate, epochs): training, then fine-tuning when the model and hp ask."""
    phases = [("train", config.learning_rate, config.epochs)]
    if spec.fine_tune is not None and hp.get("fine_tune"):
        phases.append(("fine_tune", config.learning_rate * hp.get("fine_tune_lr_scale", 0.1),
                       int(hp.get("fine_tune_epochs", 5))))
    return phases


def _flops_fields(model: Any, cost: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.flops import flops_per_sample

    fps = flops_per_sample(model)
    out: dict[str, Any] = {"flops_per_sample": fps}
    if fps and cost["train_samples_per_s"]:
        # training step ~ 3x forward FLOPs (forward + two backward matmuls)
        out["train_gflops_per_s"] = 3 * fps * cost["train_samples_per_s"] / 1e9
        out["inference_gflops_per_s"] = fps * cost["inference_samples_per_s"] / 1e9
    return out


class KerasAdapter:
    """Trains Keras models; see the module docstring."""

    def run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:
        import contextlib

        import keras

        strategy = strategy_for(config.strategy)
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        batch = config.batch_size * replicas  # global batch: per-replica batch x replicas
        _seed_and_policy(seed, config)
        measure.reset_gpu_peak()
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = spec.create(ds.input_shape, ds.num_classes, hp, seed=seed)
            compile_model(model, ds.num_classes, config, config.learning_rate)
        budget = ds.memory_budget  # shared by train and val: what train holds, val cannot
        val_budget = budget - ds.train.nbytes if budget is not None and pipeline_caches(
            ds.train.x, budget) else budget
        train = _distributed(make_pipeline(ds.train.x, ds.train.y, batch, shuffle=True, seed=seed,
                                           deterministic=True, scale=ds.train.scale,
                                           memory_budget=budget), strategy)
        val = _distributed(make_pipeline(ds.val.x, ds.val.y, batch, shuffle=False, seed=seed,
                                         scale=ds.val.scale, memory_budget=val_budget), strategy)
        ckpt_dir = ctx.run_dir / "checkpoints"
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        ckpt = ckpt_dir / f"{safe_filename(ctx.key.replace('|', '__'), 100)}.weights.h5"  # csv:/paths too

        curves: dict[str, list[float]] = {"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}
        train_time = 0.0
        timers = []
        best_epoch = None
        for phase, lr, epochs in _phases(spec, config, hp):
            if phase == "fine_tune":
                with strategy.scope() if strategy is not None else contextlib.nullcontext():
                    spec.fine_tune(model)
                    compile_model(model, ds.num_classes, config, lr)
            timer = measure.make_timing_callback(config.target)
            guard = divergence_guard()
            # EarlyStopping keeps the best epoch's weights in memory and restores them at the end
            # (stopped early or not); the checkpoint is written once per phase, outside the timed
            # fit: a ModelCheckpoint callback writing on every improved epoch cost +8.5% fit time.
            cbs = [
                keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                              restore_best_weights=True),
                timer,
                guard,
                *ctx.callbacks,
            ]
            t0 = time.perf_counter()
            with _fit_scope(model, strategy, config.strategy, train):
                hist = model.fit(train, validation_data=val, epochs=epochs, callbacks=cbs,
                                 verbose=config.verbose)
            train_time += time.perf_counter() - t0
            if guard.reason:
                raise TrainingDiverged(f"training diverged: {guard.reason}"
                                       f"{' (fine-tuning)' if phase == 'fine_tune' else ''}; "
                                       "lower --lr or check the input scaling")
            timers.append(timer)
            for k in curves:
                curves[k] += [float(v) for v in hist.history.get(k, [])]
            model.save_weights(str(ckpt))  # best epoch of this phase (restored by EarlyStopping)
            losses = hist.history.get("val_loss", [])
            if losses:
                best_epoch = len(curves["loss"]) - len(losses) + int(np.argmin(losses)) + 1

        first = timers[0]
        thr = measure.steady_throughput(first.epoch_times, first.epoch_steps, len(ds.train))
        if strategy is not None:  # predict and time inference on one device, with the trained weights
            trained = model
            model = spec.create(ds.input_shape, ds.num_classes, hp, seed=seed)
            model.set_weights(trained.get_weights())
        predict = model.predict_on_batch
        proba = predict_batches(predict, ds.test.x, config.batch_size, ds.test.scale)
        sample, timed_batch = measure.timing_sample(ds.test, config.batch_size)
        cost = {
            "train_time_s": train_time,
            "first_epoch_s": first.epoch_times[0] if first.epoch_times else None,
            "epochs": len(curves["loss"]),
            "best_epoch": best_epoch,
            **thr,
            "inference_samples_per_s": measure.inference_throughput(
                predict, sample, timed_batch, config.inference_min_time_s),
            "inference_batch_size": measure.timed_batch_size(timed_batch, sample),
            **measure.latency_ms(predict, sample[:1], config.latency_calls),
            "params": int(model.count_params()),
            "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
            "checkpoint": str(ckpt.relative_to(ctx.run_dir)) if ckpt.exists() else None,
            "curves": curves,
            "time_to_target_s": first.time_to_target_s,
            "epoch_to_target": first.epoch_to_target,
            "gpu_peak_memory_mb": measure.gpu_peak_memory_mb(),
            "data_cached": pipeline_caches(ds.train.x, budget) and pipeline_caches(ds.val.x, val_budget),
            **measure.memory_fields(ds),
        }
        cost.update(_flops_fields(model, cost))
        cost.update({"replicas": replicas, "global_batch_size": batch, "scaling_efficiency": None,
                     "single_replica_samples_per_s": None})
        if config.scaling and strategy is not None:
            one = self.run(spec, ds, seed, replace(config, strategy="none", scaling=False), hp, ctx)
            single = one.cost.get("train_samples_per_s")
            if single and cost.get("train_samples_per_s"):
                cost["scaling_efficiency"] = round(cost["train_samples_per_s"] / replicas / single, 3)
            cost["single_replica_samples_per_s"] = single
        return AdapterResult(proba, cost)


ADAPTER = KerasAdapter()
