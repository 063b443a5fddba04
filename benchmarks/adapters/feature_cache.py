"""Frozen-prefix cache: layers that cannot change during a phase are computed once per split.

A Keras functional model whose first layers are frozen (no trainable weights) and deterministic
(no random layer: dropout, noise, augmentation) maps an input to the same output in every epoch.
``plan`` finds the longest such prefix; when it holds weights worth the saving (a frozen
backbone, not just a reshape) the adapter runs it once over each split (batched, its time counted
as training time) and trains ``Plan.head`` -- the layers above, the very same layer objects, so the
full model holds the trained weights -- on the cached outputs. The head sees the same inputs in
the same shuffled order with the same seeds, so it trains to the same weights within float
round-off (tests/test_feature_cache.py).

Cached outputs larger than the memory budget go to a ``.npy`` file in the run's folder, read
by rows like streamed images (``datasets.arraycache.RowReader``); a streamed split is read one
batch at a time while it is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from datasets.base import to_float

PREDICT_BATCH = 128  # rows per forward pass of the prefix (inference only: larger is cheaper)


@dataclass
class Plan:
    """What a phase caches: ``layers`` (names, input side first) and ``head`` (a Keras model from
    the prefix's output to the model's), or ``reason`` why nothing is cached."""

    layers: list[str] = field(default_factory=list)
    reason: str | None = None
    prefix: Any = None
    head: Any = None

    def describe(self) -> dict[str, Any]:
        if self.head is None:
            return {"cached": None, "reason": self.reason}
        return {"cached": self.layers, "output_shape": list(self.head.input_shape[1:])}


def is_random(layer: Any) -> bool:
    """True when ``layer`` (or a layer inside it) draws random numbers (dropout, noise,
    augmentation): Keras 3 gives every such layer a ``SeedGenerator``."""
    import keras

    layers = [layer, *getattr(layer, "_flatten_layers", lambda **_: [])(include_self=False)]
    return any(isinstance(v, keras.random.SeedGenerator) for sub in layers for v in vars(sub).values())


def frozen_deterministic(layer: Any) -> str | None:
    """None when ``layer`` computes the same output in every epoch, else why not."""
    if layer.trainable_weights:
        return f"{layer.name} is trainable"
    if is_random(layer):
        return f"{layer.name} is random (augmentation, dropout or noise)"
    return None


def plan(model: Any) -> Plan:
    """The frozen, deterministic prefix of a single-input functional ``model`` and its head."""
    import keras

    if not isinstance(model, keras.Model) or not hasattr(model, "_operations") or len(model.inputs) != 1:
        return Plan(reason="not a single-input functional model")
    prefix: list[Any] = []
    stop = None
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inbound = {t._keras_history[0].name for node in layer._inbound_nodes for t in node.input_tensors}
        chained = len(layer._inbound_nodes) == 1 and len(layer._inbound_nodes[0].output_tensors) == 1 \
            and inbound <= {model.inputs[0]._keras_history[0].name, *(p.name for p in prefix[-1:])}
        why = frozen_deterministic(layer) if chained else f"{layer.name} is not a single chained layer"
        if why:
            stop = why
            break
        prefix.append(layer)
    names = [p.name for p in prefix]
    if not any(p.weights for p in prefix):
        return Plan(names, f"nothing worth caching: no frozen layer with weights before {stop}")
    cut = prefix[-1].output
    consumers = [layer for layer in model.layers if layer not in prefix
                 and any(cut is t for node in layer._inbound_nodes for t in node.input_tensors)]
    if stop is None or len(consumers) != 1:
        return Plan(names, "the frozen prefix is not followed by exactly one layer")
    return Plan(names, None, keras.Model(model.inputs, cut, name="cached_prefix"),
                keras.Model(cut, model.outputs, name=f"{model.name}_head"))


def compute(prefix: Any, x: Any, scale: float, *, budget: int | None, path: Path) -> np.ndarray:
    """``prefix`` over every row of ``x`` (read and scaled batch by batch), float32; held in memory
    when within ``budget`` bytes (None: no limit), else written to ``path`` (``.npy``) and returned
    as a row reader over that file."""
    from benchmarks.core.atomic import atomic_open
    from datasets.arraycache import open_rows

    n = len(x)
    out_shape = tuple(int(d) for d in prefix.output.shape[1:])
    nbytes = n * int(np.prod(out_shape)) * 4
    batches = (range(0, n, PREDICT_BATCH))
    if budget is None or nbytes <= budget:
        return np.concatenate([np.asarray(prefix.predict_on_batch(to_float(x[i:i + PREDICT_BATCH], scale)),
                                          dtype=np.float32) for i in batches])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                  "shape": (n, *out_shape)}
        np.lib.format.write_array_header_2_0(fh, header)
        for i in batches:
            rows = np.asarray(prefix.predict_on_batch(to_float(x[i:i + PREDICT_BATCH], scale)), np.float32)
            fh.write(np.ascontiguousarray(rows).tobytes())
    return open_rows(path)
