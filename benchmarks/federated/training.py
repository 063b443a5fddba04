"""Keras on one Flower node: build the registry's model with the harness's compile settings,
train locally (with FedProx's proximal term when asked), evaluate.

One ``LocalModel`` per process and job, reused across messages: weights are set from each
message, the optimizer state is reset to its initial values every round.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.adapters.keras import compile_model
from benchmarks.federated.job import Job
from models.registry import get_model


def build_model(job: Job) -> Any:
    """The registry's model for ``job``, compiled as every run is (``compile_model``)."""
    import keras

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(job.seed)
    model = get_model(job.model).create(job.input_shape, job.num_classes, job.hparams, seed=job.seed)
    compile_model(model, job.num_classes, job.config, job.config.learning_rate)
    return model


class LocalModel:
    """A compiled model plus a compiled local training step with a proximal term."""

    def __init__(self, job: Job):
        import tensorflow as tf

        self.job = job
        self.model = build_model(job)
        model, opt = self.model, self.model.optimizer
        opt.build(model.trainable_variables)
        self._opt_init = [v.numpy() for v in opt.variables]
        self._global = [tf.Variable(v.numpy(), trainable=False) for v in model.trainable_variables]
        self._mu = tf.Variable(0.0, trainable=False)
        anchors, mu = self._global, self._mu

        @tf.function(reduce_retracing=True)
        def step(x, y):
            with tf.GradientTape() as tape:
                pred = model(x, training=True)
                loss = model.compute_loss(x=x, y=y, y_pred=pred, training=True)
                prox = tf.add_n([tf.reduce_sum(tf.square(w.value - g))
                                 for w, g in zip(model.trainable_variables, anchors)])
                total = loss + mu / 2.0 * prox
            grads = tape.gradient(total, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        self._step = step

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.model.set_weights(weights)

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int, mu: float, seed: int) -> float:
        """``epochs`` local epochs from the current weights; returns the last epoch's mean loss."""
        import keras

        keras.utils.set_random_seed(seed)
        for v, init in zip(self.model.optimizer.variables, self._opt_init):
            v.assign(init)
        for g, w in zip(self._global, self.model.trainable_variables):
            g.assign(w.numpy())
        self._mu.assign(float(mu))
        rng = np.random.default_rng(seed)
        bs = max(1, min(self.job.config.batch_size, len(x)))
        loss = float("nan")
        for _ in range(epochs):
            order = rng.permutation(len(x))
            losses = [float(self._step(x[order[i:i + bs]], y[order[i:i + bs]]))
                      for i in range(0, len(x), bs)]
            loss = float(np.mean(losses))
        return loss

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Loss and accuracy on (x, y) with the current weights."""
        out = self.model.evaluate(x, y, batch_size=max(1, min(self.job.config.batch_size, len(x))),
                                  verbose=0, return_dict=True)
        return {"loss": float(out["loss"]), "accuracy": float(out["accuracy"])}


_CACHE: dict[str, LocalModel] = {}


def local_model(job: Job) -> LocalModel:
    """This process's ``LocalModel`` for ``job`` (built once)."""
    key = str(job.folder)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = LocalModel(job)
    return _CACHE[key]
