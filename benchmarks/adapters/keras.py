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
from benchmarks.adapters.base import AdapterResult, RunContext, resolve_recipe
from benchmarks.adapters.distributed_loop import fit_distributed
from benchmarks.adapters.features import select_features
from benchmarks.adapters.live import callbacks as live_callbacks
from benchmarks.config import RunConfig
from benchmarks.core.checkpoints import save_weights
from benchmarks.core.errors import OncobenchError
from benchmarks.core.paths import safe_filename
from datasets.base import Dataset, is_lazy, to_float
from models.recipe import Recipe
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

        ds = ds.map(fetch, num_parallel_calls=reader_threads(), deterministic=True)
    if x.dtype != np.float32 or scale != 1.0:
        divisor = tf.constant(scale, tf.float32)
        ds = ds.map(lambda xb, yb: (tf.math.truediv(tf.cast(xb, tf.float32), divisor), yb))
    ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    return ds.with_options(options)


def reader_threads() -> int:
    """Parallel batch reads from disk: a quarter of the cores, at least one. A read is a few ms
    of CPU per batch (measured: 3.5 ms for 64 rows of 224x224x3); tf.data's AUTOTUNE ran more
    readers than that and, on 2 cores, took them from training: fine-tuning MobileNetV2 on a
    16 GB file streamed 488 samples/s with AUTOTUNE, 534 with one reader (in memory: 535)."""
    return max(1, measure.usable_cores() // 4)


def pipeline_caches(x: Any, memory_budget: int | None) -> bool:
    """True when ``make_pipeline`` holds ``x`` in memory as one tensor (in memory, within budget)."""
    return not is_lazy(x) and (memory_budget is None or x.nbytes <= memory_budget)


def optimizer(name: str, lr: Any, weight_decay: float = 0.0):
    """A Keras optimizer by name ("adam", "rmsprop") at learning rate (or schedule) ``lr``;
    decoupled weight decay (Adam becomes AdamW) when ``weight_decay`` > 0."""
    import keras

    if name == "adam" and weight_decay:
        return keras.optimizers.AdamW(learning_rate=lr, weight_decay=weight_decay)
    kwargs = {"weight_decay": weight_decay} if weight_decay else {}
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=lr,
                                                                                     **kwargs)


def lr_schedule(kind: str, lr: float, epochs: int, steps_per_epoch: int, warmup_epochs: int = 0):
    """The learning rate per step: ``lr`` (constant), linear warm-up then cosine decay to 0
    ("cosine", Loshchilov & Hutter 2017; Goyal et al. 2017 warm-up), or x0.1 at 50% and 75% of
    the epochs ("step": MedMNIST v2's 100-epoch protocol decays at epochs 50 and 75)."""
    import keras

    if kind == "constant" or lr == 0:
        return lr
    total = max(1, epochs * steps_per_epoch)
    if kind == "step":
        bounds = [max(1, int(total * f)) for f in (0.5, 0.75)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(bounds, [lr, lr * 0.1, lr * 0.01])
    warm = min(warmup_epochs * steps_per_epoch, total - 1)
    if warm:
        return keras.optimizers.schedules.CosineDecay(lr / 100, total - warm, alpha=0.0,
                                                      warmup_target=lr, warmup_steps=warm)
    return keras.optimizers.schedules.CosineDecay(lr, total, alpha=0.0)


def class_weights(y: np.ndarray, num_classes: int, mode: str) -> dict[int, float] | None:
    """Per-class loss weights: "balanced" n / (k n_c) (King & Zeng 2001; scikit-learn's
    ``class_weight="balanced"``), "sqrt" its square root (a milder correction), "none" None."""
    if mode == "none":
        return None
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=num_classes).astype(float)
    w = len(y) / (num_classes * np.maximum(counts, 1.0))
    if mode == "sqrt":
        w = np.sqrt(w)
    return {i: float(v) for i, v in enumerate(w)}


def monitor_for(recipe: Recipe, num_classes: int, n_val: int) -> str:
    """The early-stopping / model-selection monitor. "auto": ``none`` (train the whole schedule)
    when the validation split is under ``min_val_for_auc`` samples (selection on a handful of
    samples is noise), the recipe's ``binary_monitor`` for a binary task, else ``val_loss``;
    ``val_auc`` asked of a multi-class task falls back to ``val_loss``."""
    monitor = recipe.monitor
    if monitor == "auto":
        if n_val < recipe.min_val_for_auc:
            return "none"
        monitor = recipe.binary_monitor
    return "val_loss" if monitor == "val_auc" and num_classes != 2 else monitor


def loss_for(num_classes: int, recipe: Recipe, reduction: str | None = "sum_over_batch_size"):
    """The loss by task: binary cross-entropy with the recipe's label smoothing (sigmoid head),
    else sparse categorical cross-entropy; ``reduction=None`` gives per-sample losses."""
    import keras

    if num_classes == 2:
        return keras.losses.BinaryCrossentropy(label_smoothing=recipe.label_smoothing, reduction=reduction)
    return keras.losses.SparseCategoricalCrossentropy(reduction=reduction)


def compile_model(model: Any, num_classes: int, config: RunConfig, lr: Any, *,
                  recipe: Recipe | None = None, monitor: str = "val_loss", data: Any = None) -> None:
    """Compile as every run does: the loss by task (label smoothing for binary), accuracy (and
    AUC when it is the monitor), the optimizer with the recipe's weight decay, XLA/steps.
    ``data``: the training ``tf.data`` pipeline, to create the loss, metric and optimizer state
    now (``prebuild``)."""
    import keras

    recipe = recipe or Recipe()
    metrics: list[Any] = ["accuracy"]
    if monitor == "val_auc":
        metrics.append(keras.metrics.AUC(name="auc"))
    model.compile(
        optimizer=optimizer(config.optimizer, lr, recipe.weight_decay),
        loss=loss_for(num_classes, recipe),
        metrics=metrics,
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    prebuild(model, data)


def prebuild(model: Any, data: Any = None) -> None:
    """Create the compiled model's optimizer (and, given the training pipeline, metric and loss)
    variables before ``fit``. Keras on TensorFlow without a distribution strategy creates them
    inside the first traced train step, and a ``tf.function`` that creates variables is traced a
    second time: measured on mobilenet_v2_hub fine-tuning blocks 3-16 (131 variables), the first
    epoch took 11.8 s with the optimizer alone built here and 21.3 s with neither. The metric and
    loss state come from Keras's own symbolic build (what ``fit`` runs under a strategy); where that
    private method is missing or refuses the pipeline, ``fit`` builds them as before."""
    if not (model.built and all(layer.built for layer in model._flatten_layers())):
        return  # a subclassed model without weights yet: fit builds everything
    spec = getattr(data, "element_spec", None)
    build = getattr(model, "_symbolic_build", None)
    if isinstance(spec, tuple) and len(spec) == 2 and build is not None:
        try:
            build(data_batch=(spec[0], spec[1], None))
        except Exception:  # noqa: BLE001 - a Keras internal: fall back to fit's own build
            pass
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def keeps_last(monitor: str, recipe: Recipe) -> bool:
    """Whether a phase ends with its last epoch's weights: nothing is selected on validation, or
    the recipe keeps the last epoch."""
    return monitor == "none" or recipe.keep_epoch == "last"


def best_epoch_keeper(monitor: str, mode: str, recipe: Recipe, patience: int, epochs: int,
                      start: int = 0) -> list[Any]:
    """The callbacks that keep the best epoch by ``monitor`` (none when nothing is selected on
    validation or the recipe keeps the last epoch): Keras's EarlyStopping with its best weights
    restored, stopping after ``patience`` epochs without improvement, or never with the recipe's
    ``early_stopping=False``."""
    import keras

    if keeps_last(monitor, recipe):
        return []
    return [keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, restore_best_weights=True,
                                          patience=patience if recipe.early_stopping else epochs,
                                          start_from_epoch=start)]


def kept_epoch(monitor: str, mode: str, recipe: Recipe, scores: list[float], done: int) -> int:
    """The epoch (1-based, of the ``done`` trained so far) whose weights a phase ends with, its
    monitor values being the last ``len(scores)`` of them: the last when nothing is selected on
    validation or the recipe keeps the last epoch, else the best by ``mode``."""
    if keeps_last(monitor, recipe) or not scores:
        return done
    pick = np.argmax(scores) if mode == "max" else np.argmin(scores)
    return done - len(scores) + int(pick) + 1


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
            from benchmarks.config.constants import STRATEGIES

            raise OncobenchError(f"--strategy {name!r}: valid: {', '.join(STRATEGIES)}")
    return _STRATEGIES[name]


def _distributed(ds: Any, strategy: Any) -> Any:
    """Shard a multi-worker input pipeline by data (the index pipeline reads no files)."""
    import tensorflow as tf

    if strategy is None:
        return ds
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def _phases(spec: ModelSpec, config: RunConfig, hp: dict[str, Any]) -> list[tuple[str, float, int]]:
    """(phase, learning rate, epochs): training, then fine-tuning when the model and hp ask
    (``hp`` from ``resolve_hparams``: the profile's fine-tuning epochs are already in it)."""
    phases = [("train", config.learning_rate, config.epochs)]
    if spec.fine_tune is not None and hp.get("fine_tune"):
        phases.append(("fine_tune", config.learning_rate * hp.get("fine_tune_lr_scale", 0.1),
                       int(hp.get("fine_tune_epochs", 5))))
    return phases


def _flops_fields(model: Any, cost: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.measure.flops import flops_per_sample

    fps = flops_per_sample(model)
    out: dict[str, Any] = {"flops_per_sample": fps}
    if fps and cost["train_samples_per_s"]:
        # training step ~ 3x forward FLOPs (forward + two backward matmuls)
        out["train_gflops_per_s"] = 3 * fps * cost["train_samples_per_s"] / 1e9
        out["inference_gflops_per_s"] = fps * cost["inference_samples_per_s"] / 1e9
    return out


def _inner_cv(spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig, hp: dict[str, Any],
              recipe: Recipe) -> tuple[Recipe, dict[str, Any], dict[str, Any]]:
    """The recipe's ``inner_cv`` grid point chosen on the data the run trains on (train, and
    val when nothing is selected on it), or the recipe as declared with the reason."""
    from benchmarks.adapters import inner_cv

    why = inner_cv.applies(ds.train.x, recipe) or ("rows on disk" if is_lazy(ds.train.x) else None)
    if why:
        return recipe, hp, {"chosen": None, "reason": why}
    x, y = ds.train.x, ds.train.y
    if monitor_for(recipe, ds.num_classes, len(ds.val)) == "none":
        x, y = np.concatenate([x, ds.val.x]), np.concatenate([y, ds.val.y])
    recipe, hp, record = inner_cv.choose(spec, to_float(x, ds.train.scale), np.asarray(y, np.int64),
                                         ds.num_classes, recipe, hp, config, seed)
    _seed_and_policy(seed, config)  # the run itself starts from the same state as without the grid
    return recipe, hp, record


def _frozen_prefix_inputs(model: Any, recipe: Recipe, strategy: Any, ds: Dataset, fit_x: Any,
                          fit_y: np.ndarray, batch: int, seed: int, budget: int | None, no_val: bool,
                          stem: Any) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(head model, train pipeline, val pipeline, record) when this phase's frozen prefix is
    cached (``feature_cache.plan``: computed once per split, batched), else (None, None, None,
    record saying why not). Splits go to ``stem``-train/val.npy when over ``budget``."""
    from benchmarks.adapters import feature_cache

    if not recipe.feature_cache:
        return None, None, None, {"cached": None, "reason": "off (recipe feature_cache=False)"}
    if strategy is not None:
        return None, None, None, {"cached": None, "reason": "not with --strategy"}
    plan = feature_cache.plan(model)
    if plan.head is None:
        return None, None, None, plan.describe()
    t0 = time.perf_counter()
    feats = feature_cache.compute(plan.prefix, fit_x, ds.train.scale, budget=budget,
                                  path=stem.with_name(stem.name + "-train.npy"))
    held = budget is not None and pipeline_caches(feats, budget)
    val_budget = budget - feats.nbytes if held else budget
    train = make_pipeline(feats, fit_y, batch, shuffle=True, seed=seed, memory_budget=budget)
    val = None
    if not no_val:
        val_feats = feature_cache.compute(plan.prefix, ds.val.x, ds.val.scale, budget=val_budget,
                                          path=stem.with_name(stem.name + "-val.npy"))
        val = make_pipeline(val_feats, ds.val.y, batch, shuffle=False, seed=seed, memory_budget=val_budget)
    record = {**plan.describe(), "seconds": round(time.perf_counter() - t0, 3),
              "stored": "file" if is_lazy(feats) else "memory"}
    return plan.head, train, val, record


class KerasAdapter:
    """Trains Keras models; see the module docstring."""

    def run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:
        import contextlib


        strategy = strategy_for(config.strategy)
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        batch = config.batch_size * replicas  # global batch: per-replica batch x replicas
        _seed_and_policy(seed, config)
        measure.reset_gpu_peak()
        recipe = resolve_recipe(spec, config)
        recipe, hp, tuned_inner = _inner_cv(spec, ds, seed, config, hp, recipe)
        ds, selected = select_features(ds, recipe.select_features)
        monitor = monitor_for(recipe, ds.num_classes, len(ds.val))
        mode = "max" if monitor == "val_auc" else "min"
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            model = spec.create(ds.input_shape, ds.num_classes, hp, seed=seed)
        budget = ds.memory_budget  # shared by train and val: what train holds, val cannot
        fit_x, fit_y = ds.train.x, ds.train.y
        if monitor == "none" and not is_lazy(fit_x):  # nothing selected on validation: it trains too
            fit_x, fit_y = np.concatenate([fit_x, ds.val.x]), np.concatenate([fit_y, ds.val.y])
        held = budget is not None and pipeline_caches(fit_x, budget)
        val_budget = budget - fit_x.nbytes if held else budget
        val = None if monitor == "none" else _distributed(make_pipeline(
            ds.val.x, ds.val.y, batch, shuffle=False, seed=seed, scale=ds.val.scale,
            memory_budget=val_budget), strategy)
        steps = math.ceil(len(fit_y) / max(1, min(batch, len(fit_y))))
        weights = class_weights(fit_y, ds.num_classes, recipe.class_weight)
        ckpt_dir = ctx.run_dir / "checkpoints"
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        ckpt = ckpt_dir / f"{safe_filename(ctx.key.replace('|', '__'), 100)}.weights.h5"  # csv:/paths too

        curves: dict[str, list[float]] = {"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}
        train_time = tuned_inner.get("seconds", 0.0)  # the inner cross-validation trains too
        timers = []
        best_epoch = None
        cache_record: dict[str, Any] = {}
        phase_rates: dict[str, dict[str, Any]] = {}
        for phase, lr, epochs in _phases(spec, config, hp):
            if phase == "fine_tune":
                with strategy.scope() if strategy is not None else contextlib.nullcontext():
                    spec.fine_tune(model)
            warmup = recipe.warmup_epochs if phase == "train" else 0
            schedule = lr_schedule(recipe.schedule, lr, epochs, steps, warmup)
            t0 = time.perf_counter()
            stem = ctx.run_dir / "feature_cache" / f"{ckpt.name.removesuffix('.weights.h5')}-{phase}"
            fit_model, fit_train, fit_val, cache_record[phase] = _frozen_prefix_inputs(
                model, recipe, strategy, ds, fit_x, fit_y, batch, seed, budget, val is None, stem)
            fit_model = fit_model or model
            if fit_train is None:  # a new pipeline each phase, as a cached phase has: the same
                # seed gives the same shuffle order per phase, cached or not
                fit_train, fit_val = _distributed(make_pipeline(
                    fit_x, fit_y, batch, shuffle=True, seed=seed, deterministic=True,
                    scale=ds.train.scale, memory_budget=budget), strategy), val
            train_time += time.perf_counter() - t0  # caching counts as training time
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                compile_model(fit_model, ds.num_classes, config, schedule, recipe=recipe, monitor=monitor,
                              data=fit_train)
            timer = measure.make_timing_callback(config.target)
            guard = divergence_guard()
            # EarlyStopping keeps the best epoch's weights (by the monitor) in memory and restores
            # them at the end (stopped early or not); the checkpoint is written once per phase,
            # outside the timed fit: a ModelCheckpoint callback writing on every improved epoch
            # cost +8.5% fit time. Patience counts from the end of the warm-up.
            stop = best_epoch_keeper(monitor, mode, recipe, config.patience, epochs,
                                     start=min(warmup, max(0, epochs - 1)))
            cbs = [
                *stop,
                timer,
                guard,
                *live_callbacks(ctx, len(curves["loss"])),  # --tensorboard: epoch scalars as they come
                *ctx.callbacks,
            ]
            t0 = time.perf_counter()
            if config.strategy == "multiworker":  # Keras 3's fit cannot (keras-team/keras#20585)
                hist = fit_distributed(fit_model, strategy, fit_train, fit_val, epochs=epochs, callbacks=cbs,
                                       loss_fn=loss_for(ds.num_classes, recipe, reduction=None),
                                       binary=ds.num_classes == 2, auc=monitor == "val_auc",
                                       class_weight=weights)
            else:
                hist = fit_model.fit(fit_train, validation_data=fit_val, epochs=epochs, callbacks=cbs,
                                 verbose=config.verbose, class_weight=weights)
            train_time += time.perf_counter() - t0
            if guard.reason:
                raise TrainingDiverged(f"training diverged: {guard.reason}"
                                       f"{' (fine-tuning)' if phase == 'fine_tune' else ''}; "
                                       "lower --lr or check the input scaling")
            timers.append(timer)
            phase_rates[phase] = {
                "train_samples_per_s": measure.steady_throughput(
                    timer.epoch_times, timer.epoch_steps, len(fit_y))["train_samples_per_s"],
                "first_epoch_s": timer.epoch_times[0] if timer.epoch_times else None,
                "epochs": len(timer.epoch_times), "fit_s": round(time.perf_counter() - t0, 3)}
            fit_train = fit_val = fit_model = None  # release a cached split now, and its files
            for split in ("train", "val"):
                stem.with_name(f"{stem.name}-{split}.npy").unlink(missing_ok=True)
            for k in curves:
                curves[k] += [float(v) for v in hist.history.get(k, [])]
            save_weights(model, ckpt)  # the kept (best or last) epoch; full disk: one line
            best_epoch = kept_epoch(monitor, mode, recipe, hist.history.get(monitor, []), len(curves["loss"]))

        first = timers[0]
        thr = measure.steady_throughput(first.epoch_times, first.epoch_steps, len(fit_y))
        if strategy is not None:  # predict and time inference on one device, with the trained weights
            trained = model
            model = spec.create(ds.input_shape, ds.num_classes, hp, seed=seed)
            model.set_weights(trained.get_weights())
        predict = model.predict_on_batch
        proba = predict_batches(predict, ds.test.x, config.batch_size, ds.test.scale)
        sample, timed_batch = measure.timing_sample(ds.test, config.batch_size)
        cost = {
            **measure.fit_costs(train_time, first.epoch_times, len(curves["loss"]), best_epoch),
            **thr,
            **measure.inference_costs(predict, sample, timed_batch, config.inference_min_time_s,
                                      config.latency_calls),
            "latency_n_jobs": None,
            "params": int(model.count_params()),
            "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
            "checkpoint": str(ckpt.relative_to(ctx.run_dir)) if ckpt.exists() else None,
            "curves": curves,
            "time_to_target_s": first.time_to_target_s,
            "epoch_to_target": first.epoch_to_target,
            "gpu_peak_memory_mb": measure.gpu_peak_memory_mb(),
            "data_cached": pipeline_caches(fit_x, budget)
            and (val is None or pipeline_caches(ds.val.x, val_budget)),
            **measure.memory_fields(ds),
            "recipe": {**recipe.as_dict(), "monitor": monitor, "class_weights": weights},
            "feature_selection": selected,
            "feature_cache": cache_record,
            "inner_cv": tuned_inner,
            "phases": phase_rates,  # per phase: steady samples/s, first epoch, epochs, fit time
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
        val_held_out = len(ds.val) > 0 and not (monitor == "none" and not is_lazy(ds.train.x))
        val_proba = (predict_batches(predict, ds.val.x, config.batch_size, ds.val.scale)
                     if val_held_out else None)
        return AdapterResult(proba, cost, val_proba)


ADAPTER = KerasAdapter()
