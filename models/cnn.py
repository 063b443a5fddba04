"""Small Conv2D CNN for medical images, with train-only augmentation."""

from __future__ import annotations

from models.heads import classifier_output
from models.registry import Range, register_model


@register_model("cnn", modalities=("image",),
                ranges={"dropout": Range(0, 1, high_open=True), "dense_units": Range(1)})
def build(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    filters: tuple[int, ...] = (32, 64, 128),
    dense_units: int = 128,
    dropout: float = 0.4,
    augment: bool = True,
    global_pool: bool = True,
):
    """Conv2D(3x3)+BN+ReLU+MaxPool blocks, global pooling (or Flatten), Dense, Dropout.

    Augmentation (flip, rotation, zoom) is Keras preprocessing layers, active only in training.
    """
    import keras

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if augment:
        x = keras.layers.RandomFlip("horizontal", name="aug_flip")(x)
        x = keras.layers.RandomRotation(0.05, fill_mode="reflect", name="aug_rotate")(x)
        x = keras.layers.RandomZoom(0.1, fill_mode="reflect", name="aug_zoom")(x)
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv_{i}")(x)
        # momentum 0.9: moving statistics settle within the few steps a small dataset gives
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{i}")(x)
        x = keras.layers.Activation("relu", name=f"relu_{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    if global_pool:
        x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, classifier_output(x, num_classes), name="cnn")
