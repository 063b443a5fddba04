"""Gradient attributions of Keras models, written with ``tf.GradientTape`` in batches.

- ``saliency`` (Simonyan et al. 2014): |d p_c / d x|, the vanilla gradient's magnitude;
- ``smoothgrad`` (Smilkov et al. 2017): |gradient| averaged over noisy copies of the input;
- ``ig`` Integrated Gradients (Sundararajan et al. 2017): (x - b) times the gradient averaged
  (trapezoid rule, ``steps`` intervals) along the straight path from the baseline b to x.
  Completeness: the attributions sum to p_c(x) - p_c(b) up to the quadrature error
  (``completeness_error`` measures it).

p_c is the probability of the explained class (the sample's true class): for a one-unit
sigmoid head p_1 = output, p_0 = 1 - output. TensorFlow is imported inside functions.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from benchmarks.explain.methods import register_method
from benchmarks.explain.target import Explainable, Samples
from datasets.base import Dataset

KERAS = ("keras",)
COMPLETENESS_FLOOR = 0.01  # output differences below this are compared in absolute terms


def class_probability(model, x, cls):
    """p_c(x) as a differentiable float32 tensor, one value per sample."""
    import tensorflow as tf

    out = tf.cast(model(x, training=False), tf.float32)
    cls = tf.cast(cls, tf.int32)
    if out.shape[-1] == 1:
        p1 = out[:, 0]
        return tf.where(cls == 1, p1, 1.0 - p1)
    return tf.gather(out, cls, axis=1, batch_dims=1)


_COMPILED: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _gradient_fn(model):
    """A ``tf.function`` (x, cls) -> d p_c / d x for ``model``, traced once per model."""
    import tensorflow as tf

    fn = _COMPILED.get(model)
    if fn is None:
        @tf.function(reduce_retracing=True)
        def fn(x, cls):
            with tf.GradientTape() as tape:
                tape.watch(x)
                p = class_probability(model, x, cls)
            return tape.gradient(p, x)

        _COMPILED[model] = fn
    return fn


def gradients(model, x: np.ndarray, cls: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """d p_c / d x for every sample, ``batch_size`` samples per tape (a traced ``tf.function``)."""
    import tensorflow as tf

    fn = _gradient_fn(model)
    out = []
    for i in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(x[i:i + batch_size], dtype=tf.float32)
        out.append(fn(xb, tf.convert_to_tensor(np.asarray(cls[i:i + batch_size], dtype=np.int32))).numpy())
    return np.concatenate(out) if out else np.zeros_like(x)


@register_method("saliency", frameworks=KERAS)
def saliency(target: Explainable, dataset: Dataset, samples: Samples, *, batch_size: int = 256) -> np.ndarray:
    """Vanilla gradient magnitude |d p_c / d x| (Simonyan et al. 2014)."""
    return np.abs(gradients(target.model, samples.x, samples.y, batch_size))


@register_method("smoothgrad", frameworks=KERAS)
def smoothgrad(target: Explainable, dataset: Dataset, samples: Samples, *, n: int = 25,
               noise: float = 0.15, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """SmoothGrad: |gradient| averaged over ``n`` copies with Gaussian noise (Smilkov et al. 2017).

    The noise sd is ``noise`` times the range of the explained inputs.
    """
    rng = np.random.default_rng(seed)
    sd = noise * float(np.ptp(samples.x)) if samples.x.size else 0.0
    total = np.zeros_like(samples.x, dtype=np.float32)
    for _ in range(n):
        noisy = (samples.x + rng.normal(0.0, sd, samples.x.shape)).astype(np.float32)
        total += np.abs(gradients(target.model, noisy, samples.y, batch_size))
    return total / max(n, 1)


def path_points(x: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """The ``steps + 1`` points b + a (x - b), a = 0, 1/steps, ..., 1: shape (steps+1, *x.shape)."""
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32).reshape((-1,) + (1,) * x.ndim)
    return b[None] + alphas * (x - b)[None]


def _ig(model, x: np.ndarray, b: np.ndarray, y: np.ndarray, steps: int, batch_size: int) -> np.ndarray:
    """IG with ``steps`` trapezoid intervals, whole paths of several samples per batch."""
    weights = np.full(steps + 1, 1.0 / steps, dtype=np.float32)
    weights[[0, -1]] /= 2
    out = np.zeros_like(x, dtype=np.float32)
    per_chunk = max(1, batch_size // (steps + 1))
    for i in range(0, len(x), per_chunk):
        xc, bc = x[i:i + per_chunk], b[i:i + per_chunk]
        pts = path_points(xc, bc, steps)  # (steps+1, m, *shape)
        flat = pts.reshape((-1,) + xc.shape[1:])
        cls = np.tile(y[i:i + per_chunk], steps + 1)
        g = gradients(model, flat, cls, len(flat)).reshape(pts.shape)
        out[i:i + len(xc)] = (xc - bc) * np.tensordot(weights, g, axes=(0, 0))
    return out


@register_method("ig", frameworks=KERAS)
def integrated_gradients(target: Explainable, dataset: Dataset, samples: Samples, *, steps: int = 50,
                         refine: int = 2, tolerance: float = 0.05, batch_size: int = 512) -> np.ndarray:
    """Integrated Gradients from the baseline (Sundararajan et al. 2017), trapezoid rule.

    Samples whose completeness error exceeds ``tolerance`` after ``steps`` intervals are
    recomputed with 4x the steps, at most ``refine`` times (sharp paths need finer grids).
    """
    if steps < 1:
        raise ValueError(f"ig: steps must be at least 1, got {steps}")
    x, b, y = samples.x.astype(np.float32), samples.baseline.astype(np.float32), samples.y
    out = _ig(target.model, x, b, y, steps, batch_size)
    for _ in range(refine):
        bad = np.flatnonzero(completeness_error(target, samples, out) > tolerance)
        if not bad.size:
            break
        steps *= 4
        out[bad] = _ig(target.model, x[bad], b[bad], y[bad], steps, batch_size)
    return out


def completeness_error(target: Explainable, samples: Samples, attributions: np.ndarray) -> np.ndarray:
    """Per sample |sum(attr) - (p_c(x) - p_c(b))| / max(|p_c(x) - p_c(b)|, 0.01): IG's completeness
    gap as a fraction of the output difference. The floor keeps samples whose output barely
    moves (|difference| < 0.01, where a relative error is noise) to an absolute gap: a 5%
    tolerance then means at most 5e-4 in probability."""
    diff = target.class_proba(samples.x, samples.y) - target.class_proba(samples.baseline, samples.y)
    total = attributions.reshape(len(attributions), -1).sum(axis=1)
    return np.abs(total - diff) / np.maximum(np.abs(diff), COMPLETENESS_FLOOR)
