"""Shared pieces of classifier builders (imported inside builders only)."""

from __future__ import annotations

from typing import Any


def classifier_output(x: Any, num_classes: int, *, name: str = "predictions", dtype: str = "float32"):
    """Output layer by task: one sigmoid unit for binary, softmax over k classes otherwise.

    The output is float32 even under mixed precision (numerically safe loss).
    """
    import keras

    if num_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", name=name, dtype=dtype)(x)
    return keras.layers.Dense(num_classes, activation="softmax", name=name, dtype=dtype)(x)


def image_augmentation(x: Any, *, rotation: float = 0.05, zoom: float = 0.1, shift: float = 0.05,
                       contrast: float = 0.1):
    """Train-only augmentation for grey-scale medical images (Keras preprocessing layers, inactive
    at inference): horizontal flip, small rotation/zoom/translation (reflected borders) and
    contrast. Ultrasound and histology are left-right symmetric and vary in gain; no colour or
    vertical-flip changes, which would make images the scanners never produce."""
    import keras

    flip = keras.layers.RandomFlip("horizontal", name="aug_flip")  # created first: seeds by order
    geometric = [keras.layers.RandomRotation(rotation, fill_mode="reflect", name="aug_rotate"),
                 keras.layers.RandomZoom(zoom, fill_mode="reflect", name="aug_zoom"),
                 keras.layers.RandomTranslation(shift, shift, fill_mode="reflect", name="aug_shift")]
    if keras.backend.backend() == "jax":
        # Keras marks these three un-jittable (TensorFlow's XLA lacks their image transform),
        # which makes a JAX model train op by op: 17 samples/s on an H100 for the cnn on
        # BreastMNIST. Their JAX transform (map_coordinates) compiles; see `speed`.
        for layer in geometric:
            layer.supports_jit = True
    x = flip(x)
    for layer in geometric:
        x = layer(x)
    return keras.layers.RandomContrast(contrast, name="aug_contrast")(x)
