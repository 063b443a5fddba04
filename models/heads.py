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
