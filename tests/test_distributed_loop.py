"""The multi-worker training loop keeps ``fit``'s semantics: under the default strategy (one
replica, in process) it gives the same per-epoch logs as ``model.fit`` for the same model, data
order, class weights and early stopping, and the same weights at the end."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.adapters.distributed_loop import fit_distributed
from benchmarks.adapters.keras import class_weights, compile_model, loss_for, make_pipeline
from benchmarks.config import get_profile
from datasets import LoadOptions, get_dataset
from models import get_model
from models.recipe import Recipe

EPOCHS = 4
KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_auc")


def _train(use_loop: bool, ds, weights):
    import keras
    import tensorflow as tf

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = get_model("dnn").create(ds.input_shape, ds.num_classes, {"dropout": 0.0}, seed=0)
    recipe = Recipe(label_smoothing=0.1)
    compile_model(model, ds.num_classes, get_profile("quick"), 1e-3, recipe=recipe, monitor="val_auc")
    train = make_pipeline(ds.train.x, ds.train.y, 32, shuffle=False, seed=0)
    val = make_pipeline(ds.val.x, ds.val.y, 32, shuffle=False, seed=0)
    stop = keras.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=1, restore_best_weights=True)
    if use_loop:
        hist = fit_distributed(model, tf.distribute.get_strategy(), train, val, epochs=EPOCHS,
                               loss_fn=loss_for(ds.num_classes, recipe, reduction=None), callbacks=[stop],
                               binary=True, auc=True, class_weight=weights)
    else:
        hist = model.fit(train, validation_data=val, epochs=EPOCHS, callbacks=[stop], verbose=0,
                         class_weight=weights)
    return hist.history, model.get_weights()


@pytest.mark.slow
def test_loop_matches_fit_under_the_default_strategy():
    ds = get_dataset("wisconsin").load(LoadOptions(seed=0))
    weights = class_weights(ds.train.y, ds.num_classes, "balanced")
    fit_logs, fit_w = _train(False, ds, weights)
    loop_logs, loop_w = _train(True, ds, weights)
    assert len(fit_logs["loss"]) == len(loop_logs["loss"]) >= 2
    for key in KEYS:
        np.testing.assert_allclose(loop_logs[key], fit_logs[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(loop_w, fit_w):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
