"""Speed of pure-Keras builders on Keras's active backend (``KERAS_BACKEND``): no TensorFlow needed.

The harness trains through TensorFlow (``tf.data``, its callbacks and device facts). This module
answers a narrower question on machines that have JAX or PyTorch but no TensorFlow, e.g. a GPU
box: how fast does each registered Keras builder train and predict there? It builds the model with
its resolved hyper-parameters and recipe (loss, label smoothing, class weights, weight decay,
learning-rate schedule), trains it on the dataset's real training split for a fixed number of
epochs (no early stopping, no validation passes), and reports the harness's cost fields (steady
training samples/s over epochs 2..n, inference samples/s, one-sample latency, parameters) with
the test accuracy, balanced accuracy and ROC-AUC after those epochs as a check that it learned.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters.base import resolve_hparams, resolve_recipe
from benchmarks.adapters.keras import class_weights, loss_for, lr_schedule, optimizer
from benchmarks.config import RunConfig
from benchmarks.core.errors import OncobenchError
from benchmarks.metrics.classification import classification_metrics, probabilities
from datasets.base import Dataset
from models.registry import ModelSpec

JIT_CHOICES = ("auto", "on", "off")


def backend_info() -> dict[str, Any]:
    """Keras's backend, its version, and the device it computes on (the first accelerator, else the CPU)."""
    import keras

    backend = keras.backend.backend()
    info: dict[str, Any] = {"backend": backend, "keras": keras.__version__, "python": sys.version.split()[0],
                            "numpy": np.__version__, "platform": platform.platform(),
                            "cpu_model": measure.cpu_model(), "cpu_count": os.cpu_count(),
                            "git_commit": measure.git_commit()}
    if backend == "tensorflow":  # the harness's own device facts
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        facts = measure.device_info()
        return {**info, "device_kind": facts["device_kind"], "device_name": facts["device_name"],
                "devices": facts["gpus"]}
    devices: list[str] = []
    if backend == "jax":
        import jax

        info["jax"] = jax.__version__
        devices = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    elif backend == "torch":
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    info["device_kind"] = "GPU" if devices else "CPU"
    info["device_name"] = devices[0] if devices else measure.cpu_model()
    info["devices"] = devices
    return info


def _jit(value: str) -> Any:
    if value not in JIT_CHOICES:
        raise OncobenchError(f"--jit-compile {value!r}; valid: {', '.join(JIT_CHOICES)}")
    return {"auto": "auto", "on": True, "off": False}[value]


def speed_pair(spec: ModelSpec, dataset: Dataset, config: RunConfig, *, jit: str = "auto",
               seed: int = 0) -> dict[str, Any]:
    """Train ``spec`` on ``dataset``'s training split for ``config.epochs`` epochs on the active
    Keras backend and time it; returns one row (cost fields, test quality after the epochs)."""
    import keras

    if spec.framework != "keras":
        raise OncobenchError(f"speed times Keras models; {spec.name} is a {spec.framework} model "
                             "(its cost is in run's results)")
    jit_compile = _jit(jit)
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(config.precision)
    try:
        hp = resolve_hparams(spec, config)
        model = spec.create(dataset.input_shape, dataset.num_classes, hp, seed=seed)
    except ModuleNotFoundError as exc:
        raise OncobenchError(f"model {spec.name} needs {exc.name}, which is not installed with Keras's "
                             f"{keras.backend.backend()} backend; time it with run (TensorFlow) or "
                             "install it") from None
    recipe = resolve_recipe(spec, config)
    x, y = dataset.train.floats(), np.asarray(dataset.train.y)
    steps = max(1, -(-len(x) // config.batch_size))
    lr = lr_schedule(recipe.schedule, config.learning_rate, config.epochs, steps, recipe.warmup_epochs)
    model.compile(optimizer=optimizer(config.optimizer, lr, recipe.weight_decay),
                  loss=loss_for(dataset.num_classes, recipe), metrics=["accuracy"], jit_compile=jit_compile)
    timer = measure.make_timing_callback()
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, shuffle=True,
                        class_weight=class_weights(y, dataset.num_classes, recipe.class_weight),
                        callbacks=[timer], verbose=0)
    train_time = time.perf_counter() - start
    loss = history.history.get("loss", [float("nan")])[-1]
    if not np.isfinite(loss):
        raise OncobenchError(f"{spec.name} on {dataset.name}: training loss became {loss} on the "
                             f"{keras.backend.backend()} backend; lower --lr or use --precision float32")
    x_test = dataset.test.floats()
    raw = model.predict(x_test, batch_size=config.batch_size, verbose=0)
    proba = probabilities(np.asarray(raw, dtype=np.float64), dataset.num_classes)
    quality = classification_metrics(np.asarray(dataset.test.y), proba, dataset.class_names)
    sample, size = measure.timing_sample(dataset.test, config.batch_size)

    def predict(batch: np.ndarray) -> Any:
        return np.asarray(model.predict_on_batch(batch))

    row: dict[str, Any] = {
        "model": spec.name, "dataset": dataset.name, "backend": keras.backend.backend(),
        "precision": config.precision, "jit_compile": jit,
        "jit_compiled": bool(model.jit_compile),  # what Keras resolved: False means op by op
        "epochs": config.epochs,
        "batch_size": config.batch_size, "params": int(model.count_params()),
        "first_epoch_s": timer.epoch_times[0] if timer.epoch_times else None,
        "train_time_s": train_time,
        **measure.steady_throughput(timer.epoch_times, timer.epoch_steps, len(x)),
        "inference_samples_per_s": measure.inference_throughput(predict, sample, size,
                                                                config.inference_min_time_s),
        "inference_batch": size,
        **measure.latency_ms(predict, sample[:1], config.latency_calls),
        "final_loss": float(loss),
    }
    row.update({k: quality.get(k) for k in ("accuracy", "balanced_accuracy", "roc_auc")})
    keras.backend.clear_session()
    return row
