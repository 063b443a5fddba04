"""Run one (model, dataset, seed, config) and return one record.

The harness sees a ``ModelSpec`` (a builder plus metadata) and a ``Dataset`` (three
splits plus metadata), never a file format or a layer. Keras models train through a
``tf.data`` pipeline with early stopping and a best-weights checkpoint; scikit-learn
baselines are fitted on the same training split. Both are evaluated and timed alike.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.config import RunConfig
from benchmarks.metrics.classification import classification_metrics, probabilities
from benchmarks.paths import safe_filename
from benchmarks.results import SCHEMA_VERSION, record_key
from datasets.base import Dataset
from models.registry import ModelSpec


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def make_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int,
                  deterministic: bool = True):
    """``tf.data``: cache -> seeded shuffle (train only) -> batch -> prefetch."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = deterministic
    return ds.with_options(options)


def _optimizer(name: str, lr: float):
    import keras

    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[name](learning_rate=lr)


def _compile(model, num_classes: int, config: RunConfig, lr: float) -> None:
    loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(
        optimizer=_optimizer(config.optimizer, lr),
        loss=loss,
        metrics=["accuracy"],
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )


def _predict_batches(predict, x: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([np.asarray(predict(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])


def _run_keras(spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig, hp: dict[str, Any],
               run_dir: Path, key: str, callbacks: list | None) -> dict[str, Any]:
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
    measure.reset_gpu_peak()
    model = spec.build(ds.input_shape, ds.num_classes, **hp)
    _compile(model, ds.num_classes, config, config.learning_rate)
    train = make_pipeline(ds.train.x, ds.train.y, config.batch_size, shuffle=True, seed=seed,
                          deterministic=True)
    val = make_pipeline(ds.val.x, ds.val.y, config.batch_size, shuffle=False, seed=seed)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / f"{safe_filename(key.replace('|', '__'), 100)}.weights.h5"  # csv:/paths too

    phases = [("train", config.learning_rate, config.epochs)]
    if spec.fine_tune is not None and hp.get("fine_tune"):
        phases.append(("fine_tune", config.learning_rate * hp.get("fine_tune_lr_scale", 0.1),
                       int(hp.get("fine_tune_epochs", 5))))
    curves: dict[str, list[float]] = {"loss": [], "val_loss": [], "accuracy": [], "val_accuracy": []}
    train_time = 0.0
    timers = []
    best_epoch = None
    for phase, lr, epochs in phases:
        if phase == "fine_tune":
            spec.fine_tune(model)
            _compile(model, ds.num_classes, config, lr)
        timer = measure.make_timing_callback(config.target)
        # EarlyStopping keeps the best epoch's weights in memory and restores them at the end
        # (stopped early or not); the checkpoint is written once per phase, outside the timed
        # fit: a ModelCheckpoint callback writing on every improved epoch cost +8.5% fit time.
        cbs = [
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                          restore_best_weights=True),
            timer,
            *(callbacks or []),
        ]
        t0 = time.perf_counter()
        hist = model.fit(train, validation_data=val, epochs=epochs, callbacks=cbs, verbose=config.verbose)
        train_time += time.perf_counter() - t0
        timers.append(timer)
        for k in curves:
            curves[k] += [float(v) for v in hist.history.get(k, [])]
        model.save_weights(str(ckpt))  # best epoch of this phase (restored by EarlyStopping)
        losses = hist.history.get("val_loss", [])
        if losses:
            best_epoch = len(curves["loss"]) - len(losses) + int(np.argmin(losses)) + 1

    first = timers[0]
    thr = measure.steady_throughput(first.epoch_times, first.epoch_steps, len(ds.train))
    predict = model.predict_on_batch
    proba = probabilities(_predict_batches(predict, ds.test.x, config.batch_size), ds.num_classes)
    cost = {
        "train_time_s": train_time,
        "first_epoch_s": first.epoch_times[0] if first.epoch_times else None,
        "epochs": len(curves["loss"]),
        "best_epoch": best_epoch,
        **thr,
        "inference_samples_per_s": measure.inference_throughput(
            predict, ds.test.x, config.batch_size, config.inference_min_time_s),
        **measure.latency_ms(predict, ds.test.x[:1], config.latency_calls),
        "params": int(model.count_params()),
        "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
        "checkpoint": str(ckpt.relative_to(run_dir)) if ckpt.exists() else None,
        "curves": curves,
        "time_to_target_s": first.time_to_target_s,
        "epoch_to_target": first.epoch_to_target,
        "gpu_peak_memory_mb": measure.gpu_peak_memory_mb(),
    }
    from benchmarks.flops import flops_per_sample

    fps = flops_per_sample(model)
    cost["flops_per_sample"] = fps
    if fps and cost["train_samples_per_s"]:
        # training step ~ 3x forward FLOPs (forward + two backward matmuls)
        cost["train_gflops_per_s"] = 3 * fps * cost["train_samples_per_s"] / 1e9
        cost["inference_gflops_per_s"] = fps * cost["inference_samples_per_s"] / 1e9
    return {"proba": proba, **cost}


def _sklearn_params(est: Any) -> int:
    if hasattr(est, "coef_"):
        return int(est.coef_.size + np.size(getattr(est, "intercept_", 0)))
    if hasattr(est, "estimators_"):
        return int(sum(t.tree_.node_count for t in est.estimators_))
    return 0


def _run_sklearn(spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig, hp: dict[str, Any]) -> dict:
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    est = spec.build(ds.input_shape, ds.num_classes, seed=seed, **hp)
    x_train = flat(ds.train.x)
    t0 = time.perf_counter()
    est.fit(x_train, ds.train.y)
    train_time = time.perf_counter() - t0
    predict = lambda x: est.predict_proba(flat(x))  # noqa: E731
    raw = predict(ds.test.x)
    proba = np.zeros((len(raw), ds.num_classes))
    proba[:, est.classes_.astype(int)] = raw  # classes absent from train get probability 0
    return {
        "proba": proba,
        "train_time_s": train_time,
        "first_epoch_s": None,
        "epochs": None,
        "best_epoch": None,
        "train_samples_per_s": len(x_train) / train_time if train_time > 0 else None,
        "train_steps_measured": None,
        "steady": False,
        "inference_samples_per_s": measure.inference_throughput(
            predict, ds.test.x, config.batch_size, config.inference_min_time_s),
        **measure.latency_ms(predict, ds.test.x[:1], config.latency_calls),
        "params": _sklearn_params(est),
        "trainable_params": None,
        "checkpoint": None,
        "curves": {},
    }


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

    ``callbacks`` are extra Keras callbacks (ignored for scikit-learn models).
    Errors propagate; the caller records them as failed runs.
    """
    if not spec.accepts(dataset.modality):
        from benchmarks.errors import OncobenchError

        raise OncobenchError(f"model {spec.name!r} does not accept {dataset.modality} data "
                             f"(dataset {dataset.name!r})")
    hp = spec.hparams(config.hparams.get(spec.name))
    key = record_key(spec.name, dataset.name, seed, dataset.fold)
    started = _now()
    if spec.framework == "sklearn":
        out = _run_sklearn(spec, dataset, seed, config, hp)
    else:
        out = _run_keras(spec, dataset, seed, config, hp, Path(run_dir), key, callbacks)
    proba = out.pop("proba")
    quality = classification_metrics(dataset.test.y, proba, dataset.class_names)
    env = dict(environment or {})
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "key": key,
        "status": "ok",
        "error": None,
        "model": spec.name,
        "framework": spec.framework,
        "dataset": dataset.name,
        "modality": dataset.modality,
        "seed": seed,
        "fold": dataset.fold,
        "profile": config.profile,
        "hparams": hp,
        "config": {k: v for k, v in config.as_dict().items() if k not in ("hparams", "seeds")},
        "deterministic": config.deterministic,
        "precision": config.precision,
        **quality,
        "class_names": list(dataset.class_names),
        "test_labels": dataset.test.y.tolist(),
        "test_scores": np.round(proba, 6).tolist(),
        **out,
        "peak_rss_mb": measure.peak_rss_mb(),
        "device_kind": env.get("device_kind"),
        "device_name": env.get("device_name"),
        "environment": env,
        "data": dataset.summary(),
        "started_at": started,
        "finished_at": _now(),
    }
