"""Dense network for gene expression and tabular features."""

from __future__ import annotations

from models.heads import classifier_output
from models.registry import Range, register_model


@register_model("dnn", modalities=("expression", "tabular"),
                ranges={"dropout": Range(0, 1, high_open=True), "l2": Range(0)})
def build(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    hidden_units: tuple[int, ...] = (512, 256),
    dropout: float = 0.3,
    batch_norm: bool = False,
    l2: float = 1e-4,
    activation: str = "relu",
):
    """Dense network: Dense -> [BatchNorm] -> ReLU -> Dropout per hidden layer, softmax head."""
    import keras

    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=input_shape, name="features")
    x = inputs
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, kernel_regularizer=reg, name=f"dense_{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = keras.layers.Activation(activation, name=f"act_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return keras.Model(inputs, classifier_output(x, num_classes), name="dnn")
