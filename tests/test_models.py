"""Each builder: registry metadata, output shapes, one training step; the hub wrapper fine-tunes."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.core.errors import OncobenchError
from models import get_model, list_models


def test_registry_lists_every_family():
    names = {m.name for m in list_models()}
    assert {"dnn", "cnn", "mobilenet_v2_hub", "logreg", "random_forest"} <= names
    assert get_model("dnn").accepts("expression") and not get_model("dnn").accepts("image")
    assert get_model("cnn").modalities == ("image",)
    assert get_model("logreg").framework == "sklearn"


def test_unknown_model_and_hparam_errors_name_valid_choices():
    with pytest.raises(OncobenchError, match="valid models: .*dnn"):
        get_model("resnet999")
    with pytest.raises(OncobenchError, match="no hyper-parameter bogus; valid: .*dropout"):
        get_model("dnn").hparams({"bogus": 1})


def _train_step(model, x, y, loss):
    import keras

    model.compile(keras.optimizers.Adam(1e-2), loss)
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    after = [w.numpy() for w in model.trainable_weights]
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("num_classes", [2, 5])
def test_dnn_shapes_and_step(num_classes):
    spec = get_model("dnn")
    model = spec.build((40,), num_classes, **spec.hparams({"batch_norm": True}))
    x = np.random.default_rng(0).standard_normal((16, 40)).astype("float32")
    y = np.arange(16) % num_classes
    out = model.predict_on_batch(x)
    assert out.shape == ((16, 1) if num_classes == 2 else (16, num_classes))
    assert [layer.units for layer in model.layers if layer.name.startswith("dense_")] == [512, 256]
    loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    assert _train_step(model, x, y, loss)


def test_cnn_shapes_step_and_train_only_augmentation():
    spec = get_model("cnn")
    model = spec.build((28, 28, 1), 3, **spec.hparams())
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    assert model.predict_on_batch(x).shape == (8, 3)
    # augmentation is off at inference: two predictions agree exactly
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert any(layer.name.startswith("aug_") for layer in model.layers)
    assert _train_step(model, x, np.arange(8) % 3, "sparse_categorical_crossentropy")


def test_hub_model_frozen_then_fine_tuned_backbone_changes():
    spec = get_model("mobilenet_v2_hub")
    model = spec.build((28, 28, 1), 2, **spec.hparams({"image_size": 64, "fine_tune_from": 0,
                                                      "handle": "bundled:mobilenet_v2_035"}))
    backbone = model.get_layer("backbone")
    assert model.get_layer("resize").output.shape[1:3] == (64, 64)
    assert len(model.trainable_weights) == 2  # the new head only
    assert backbone.count_params() == 410_208  # the real ImageNet MobileNetV2 0.35 (no top)
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    y = np.array([0, 1] * 4)
    kernel = backbone.weights[0]
    w0 = kernel.numpy().copy()
    _train_step(model, x, y, "binary_crossentropy")
    np.testing.assert_array_equal(kernel.numpy(), w0)  # frozen: the backbone did not move
    spec.fine_tune(model)
    assert len(model.trainable_weights) > 100
    _train_step(model, x, y, "binary_crossentropy")
    assert not np.array_equal(kernel.numpy(), w0)  # fine-tuning changed a backbone weight


def test_hub_model_fine_tunes_only_the_top_blocks_by_default():
    spec = get_model("mobilenet_v2_hub")
    model = spec.build((28, 28, 1), 2, **spec.hparams({"image_size": 64}))
    bottom, top = model.get_layer("backbone_bottom"), model.get_layer("backbone")
    assert bottom.count_params() + top.count_params() == 706_224  # alpha 0.5, cut below block 13
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    y = np.array([0, 1] * 4)
    spec.fine_tune(model)
    assert not bottom.trainable_weights and top.trainable_weights
    before = [w.numpy().copy() for w in (bottom.weights[0], top.trainable_weights[0])]
    _train_step(model, x, y, "binary_crossentropy")
    np.testing.assert_array_equal(bottom.weights[0].numpy(), before[0])  # blocks 0-12 stay
    assert not np.array_equal(top.trainable_weights[0].numpy(), before[1])


def test_hub_handle_local_savedmodel_and_bad_handle(tmp_path):
    from models.hub_transfer import export_bundled

    path = export_bundled("mobilenet_v2_035")  # cached after the first export
    assert (path / "saved_model.pb").is_file()
    spec = get_model("mobilenet_v2_hub")
    model = spec.build((32, 32, 3), 4, **spec.hparams({"handle": str(path), "image_size": 48}))
    assert model.predict_on_batch(np.zeros((2, 32, 32, 3), "float32")).shape == (2, 4)
    with pytest.raises(OncobenchError, match="neither a URL nor an existing SavedModel"):
        spec.build((32, 32, 3), 2, **spec.hparams({"handle": str(tmp_path / "nope")}))


@pytest.mark.parametrize("name", ["logreg", "random_forest"])
def test_classical_baselines_fit(name):
    spec = get_model(name)
    est = spec.build((10,), 3, seed=0, **spec.hparams())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 10))
    y = np.arange(60) % 3
    x[:, 0] += y * 3
    est.fit(x, y)
    assert est.predict_proba(x).shape == (60, 3)
    assert (est.predict(x) == y).mean() > 0.8


def test_augmentation_seeds_follow_layer_order():
    """Keras seeds each random layer at creation from the global seed, in creation order: the
    helper must create them in call order (flip, rotate, zoom, shift, contrast), or every
    deterministic result recorded with the cnn (the CI baseline) changes."""
    import keras
    import numpy as np

    from models.heads import image_augmentation

    keras.utils.set_random_seed(0)
    reference = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.05),
                 keras.layers.RandomZoom(0.1), keras.layers.RandomTranslation(0.05, 0.05),
                 keras.layers.RandomContrast(0.1)]
    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    built = keras.Model(inp, image_augmentation(inp))
    layers = [layer for layer in built.layers if hasattr(layer, "generator")]
    assert [layer.name for layer in layers] == ["aug_flip", "aug_rotate", "aug_zoom", "aug_shift",
                                                "aug_contrast"]
    for mine, ref in zip(layers, reference):
        assert np.array_equal(np.asarray(mine.generator.state), np.asarray(ref.generator.state)), mine.name
