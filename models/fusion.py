"""Fusion networks for multi-block (multi-omics) data: early, late and intermediate fusion.

Each builder takes ``input_shape`` as ``{block name: (features,)}`` (``MultiBlockDataset.
block_shapes``) and builds a Keras model whose inputs are a dict keyed by block name plus
``block_mask`` (n, blocks), 1 where a sample has the block. An absent block's features are zeros
and its mask bit 0, so every model predicts with any subset of blocks present. During training
``ModalityDropout`` switches off each present block of a sample with probability
``modality_dropout`` (never all of them), so the models learn to do without any block.
Trained by ``benchmarks.adapters.fusion``.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from benchmarks.core.modalities import MULTIOMICS
from models.dnn import RECIPE as DNN_RECIPE
from models.heads import classifier_output
from models.recipe import floats
from models.registry import Range, register_model

MASK_INPUT = "block_mask"  # datasets.multiblock.MASK_INPUT (models import no dataset code)
RECIPE = replace(DNN_RECIPE, select_features=0, sources={
    **DNN_RECIPE.sources,
    "select_features": "none: each block keeps its preprocessed features (per-block top-k: --top-k-genes)",
    "modality_dropout": "each present block of a training sample is masked with probability "
                        "modality_dropout (never all): the model learns to predict without any "
                        "block (Ngiam et al. 2011; protein is absent at test in breast_tcga)",
})
RANGES = {"dropout": Range(0, 1, high_open=True), "modality_dropout": Range(0, 1, high_open=True),
          "l2": Range(0)}
SPACE = {"learning_rate": floats(1e-4, 3e-3, log=True), "dropout": floats(0.1, 0.7),
         "modality_dropout": floats(0.0, 0.5)}


@functools.lru_cache(maxsize=None)
def _layers() -> Any:
    """The two custom layers (Keras imported on first build only)."""
    import keras
    from keras import ops

    class ModalityDropout(keras.layers.Layer):
        """Training only: drop each present block with probability ``rate``, keeping at least one."""

        def __init__(self, rate: float, seed: int = 0, **kw: Any) -> None:
            super().__init__(**kw)
            self.rate, self.gen = rate, keras.random.SeedGenerator(seed)

        def call(self, mask, training=None):
            if not training or not self.rate:
                return mask
            keep = keras.random.uniform(ops.shape(mask), seed=self.gen) >= self.rate
            kept = mask * ops.cast(keep, mask.dtype)
            return ops.where(ops.sum(kept, axis=1, keepdims=True) > 0, kept, mask)

    class BlockWeights(keras.layers.Layer):
        """Learned per-block weights, renormalised over each sample's present blocks: (n, blocks)."""

        def build(self, mask_shape):
            self.logits = self.add_weight(shape=(mask_shape[-1],), initializer="zeros", name="logits")

        def call(self, mask):
            return masked_softmax(ops.zeros_like(mask) + self.logits, mask)

    return ModalityDropout, BlockWeights


def masked_softmax(scores: Any, mask: Any) -> Any:
    """Softmax over blocks (last axis) where ``mask`` is 1; absent blocks get weight 0."""
    from keras import ops

    return ops.softmax(scores + (1.0 - mask) * -1e9, axis=-1) * mask


def _inputs(input_shape: dict[str, tuple[int, ...]], modality_dropout: float, seed: int):
    """(Keras inputs dict, block tensors, mask after modality dropout)."""
    import keras

    ModalityDropout, _ = _layers()
    inputs = {b: keras.Input(shape=tuple(s), name=b) for b, s in input_shape.items()}
    inputs[MASK_INPUT] = keras.Input(shape=(len(input_shape),), name=MASK_INPUT)
    mask = ModalityDropout(modality_dropout, seed, name="modality_dropout")(inputs[MASK_INPUT])
    xs = [inputs[b] * mask[:, i:i + 1] for i, b in enumerate(input_shape)]  # absent block: zeros
    return inputs, xs, mask


def _dense(x: Any, units: tuple[int, ...], dropout: float, l2: float, prefix: str) -> Any:
    import keras

    for i, u in enumerate(units):
        reg = keras.regularizers.L2(l2) if l2 else None
        x = keras.layers.Dense(u, activation="relu", kernel_regularizer=reg,
                               name=f"{prefix}_dense_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"{prefix}_dropout_{i}")(x) if dropout else x
    return x


FUSION = dict(modalities=(MULTIOMICS,), framework="fusion", recipe=RECIPE, ranges=RANGES, search_space=SPACE)


@register_model("early_fusion", **FUSION)
def build_early(input_shape: dict[str, tuple[int, ...]], num_classes: int, *,
                hidden_units: tuple[int, ...] = (256, 128), dropout: float = 0.5, l2: float = 1e-3,
                modality_dropout: float = 0.2, seed: int = 0):
    """Early fusion: concatenated blocks (and the block mask) -> dense network."""
    import keras

    inputs, xs, mask = _inputs(input_shape, modality_dropout, seed)
    h = _dense(keras.layers.Concatenate(name="concat")([*xs, mask]), hidden_units, dropout, l2, "early")
    return keras.Model(inputs, classifier_output(h, num_classes), name="early_fusion")


@register_model("late_fusion", **FUSION)
def build_late(input_shape: dict[str, tuple[int, ...]], num_classes: int, *,
               hidden_units: tuple[int, ...] = (128,), dropout: float = 0.5, l2: float = 1e-3,
               combine: str = "mean", modality_dropout: float = 0.2, seed: int = 0):
    """Late fusion: one network per block; their probabilities averaged over the present blocks
    (``combine`` "mean") or weighted by learned per-block weights ("learned")."""
    import keras
    from keras import ops

    inputs, xs, mask = _inputs(input_shape, modality_dropout, seed)
    probs = [classifier_output(_dense(x, hidden_units, dropout, l2, b), num_classes, name=f"{b}_proba")
             for x, b in zip(xs, input_shape)]
    stacked = ops.stack(probs, axis=1)  # (n, blocks, outputs)
    if combine == "learned":
        w = _layers()[1](name="block_weights")(mask)
    elif combine == "mean":
        w = mask / ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
    else:
        raise ValueError(f"late_fusion combine={combine!r}: valid: mean, learned")
    out = keras.layers.Activation("linear", name="predictions", dtype="float32")(
        ops.sum(stacked * ops.expand_dims(w, -1), axis=1))
    return keras.Model(inputs, out, name="late_fusion")


@register_model("intermediate_fusion", **FUSION)
def build_intermediate(input_shape: dict[str, tuple[int, ...]], num_classes: int, *,
                       embed_units: int = 64, hidden_units: tuple[int, ...] = (64,), dropout: float = 0.5,
                       l2: float = 1e-3, fusion: str = "attention", modality_dropout: float = 0.2,
                       seed: int = 0):
    """Intermediate fusion: one encoder per block -> embeddings fused by attention over the
    present blocks (``fusion`` "attention"), sigmoid gates ("gating") or concatenation -> head."""
    import keras
    from keras import ops

    inputs, xs, mask = _inputs(input_shape, modality_dropout, seed)
    emb = ops.stack([_dense(x, (embed_units,), dropout, l2, b) for x, b in zip(xs, input_shape)], axis=1)
    if fusion == "attention":
        score = keras.layers.Dense(1, name="attention_score")(
            keras.layers.Dense(embed_units // 2, activation="tanh", name="attention_hidden")(emb))
        w = masked_softmax(ops.squeeze(score, -1), mask)
    elif fusion == "gating":
        gate = ops.squeeze(keras.layers.Dense(1, activation="sigmoid", name="gate")(emb), -1) * mask
        w = gate / ops.maximum(ops.sum(gate, axis=1, keepdims=True), 1e-6)
    elif fusion == "concat":
        w = None
    else:
        raise ValueError(f"intermediate_fusion fusion={fusion!r}: valid: attention, gating, concat")
    fused = (keras.layers.Flatten(name="concat")(emb * ops.expand_dims(mask, -1)) if w is None
             else ops.sum(emb * ops.expand_dims(w, -1), axis=1))
    h = _dense(fused, hidden_units, dropout, l2, "head")
    return keras.Model(inputs, classifier_output(h, num_classes), name="intermediate_fusion")
