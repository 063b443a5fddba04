"""Recipes beside builders: valid, sourced, and applied by the adapters (schedules, class
weights, monitor, train-only feature selection); the full profile follows MedMNIST v2."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmarks.adapters.features import select_features
from benchmarks.adapters.keras import class_weights, lr_schedule, monitor_for
from benchmarks.config import get_profile, validate
from benchmarks.core.errors import OncobenchError
from datasets import LoadOptions, get_dataset
from datasets.base import Split
from models import get_model, list_models
from models.recipe import TRAINING_KEYS, Recipe


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_every_model_has_a_sourced_recipe_and_a_search_space(spec):
    assert spec.recipe.sources, f"{spec.name}: the recipe says where its choices come from"
    assert spec.search_space, f"{spec.name}: tune needs a declared search space"
    assert set(spec.search_space) <= set(spec.defaults) | set(TRAINING_KEYS)
    assert spec.recipe_for() == spec.recipe


def test_recipe_overrides_are_checked():
    r = Recipe()
    assert r.with_(class_weight="balanced").class_weight == "balanced"
    with pytest.raises(OncobenchError, match="no field"):
        r.with_(nope=1)
    with pytest.raises(OncobenchError, match="schedule"):
        r.with_(schedule="linear")
    with pytest.raises(OncobenchError, match="label_smoothing"):
        r.with_(label_smoothing=0.7)
    with pytest.raises(OncobenchError, match="binary_monitor"):
        r.with_(binary_monitor="val_accuracy")


def test_cosine_schedule_warms_up_then_decays_to_zero():
    s = lr_schedule("cosine", 1e-3, epochs=10, steps_per_epoch=10, warmup_epochs=2)
    assert float(s(0)) < 1e-4
    assert float(s(20)) == pytest.approx(1e-3, rel=1e-3)
    assert float(s(60)) < 1e-3
    assert float(s(100)) == pytest.approx(0.0, abs=1e-8)


def test_step_schedule_is_the_medmnist_protocol():
    s = lr_schedule("step", 1e-3, epochs=100, steps_per_epoch=5)
    assert float(s(249)) == pytest.approx(1e-3)
    assert float(s(251)) == pytest.approx(1e-4)
    assert float(s(376)) == pytest.approx(1e-5)
    assert lr_schedule("constant", 1e-3, 10, 10) == 1e-3


def test_full_profile_follows_the_published_protocol():
    full = validate(get_profile("full"))
    assert (full.epochs, full.batch_size, full.learning_rate, full.schedule) == (100, 128, 1e-3, "step")
    assert full.patience >= full.epochs  # selected on validation, never stopped early
    with pytest.raises(OncobenchError, match="schedule"):
        validate(replace(full, schedule="exp"))
    with pytest.raises(OncobenchError, match="fine_tune_epochs 0"):
        validate(replace(full, fine_tune_epochs=0))


def test_fine_tuning_epochs_come_from_hp_then_profile_then_model():
    from benchmarks.adapters.base import resolve_hparams
    from benchmarks.adapters.keras import _phases
    from models.registry import get_model

    spec = get_model("mobilenet_v2_hub")

    def ft(config, given=None):
        config = replace(config, hparams={"mobilenet_v2_hub": given} if given else {})
        hp = resolve_hparams(spec, config)  # what the record's hparams say
        phases = [epochs for phase, _, epochs in _phases(spec, config, hp) if phase == "fine_tune"]
        assert phases in ([], [hp["fine_tune_epochs"]])
        return phases

    assert ft(get_profile("standard")) == [spec.defaults["fine_tune_epochs"]]  # the model's own (15)
    assert ft(get_profile("ci")) == [8]  # the model's value for the profile
    assert ft(get_profile("full")) == [30]
    assert ft(get_profile("full"), {"fine_tune_epochs": 2}) == [2]  # an explicit --hp wins
    assert ft(get_profile("full"), {"fine_tune": False}) == []
    assert resolve_hparams(get_model("cnn"), get_profile("full")) == get_model("cnn").defaults
    # the experiment (and the suite.toml saved from it) records what runs, so --config reproduces it
    from benchmarks.execution.runner import experiment_of
    from datasets import LoadOptions as Options

    assert experiment_of(get_profile("full"), Options(), [spec])["hparams"]["mobilenet_v2_hub"][
        "fine_tune_epochs"] == 30
    assert "fine_tune_epochs" not in experiment_of(get_profile("standard"), Options(), [spec])["config"]


def test_profiles_pick_mobilenet_backbones_and_fine_tuning(tmp_path):
    from benchmarks.adapters.base import resolve_hparams
    from benchmarks.execution.runner import experiment_of
    from datasets import LoadOptions as Options
    from models.hub_transfer import BUNDLED, DEFAULT_HANDLE, PROFILE_HPARAMS, SMALL_HANDLE
    from models.registry import get_model

    spec = get_model("mobilenet_v2_hub")
    assert SMALL_HANDLE.split(":", 1)[1] in BUNDLED and DEFAULT_HANDLE.split(":", 1)[1] in BUNDLED
    standard = resolve_hparams(spec, get_profile("standard"))
    assert (standard["handle"], standard["fine_tune_from"]) == (DEFAULT_HANDLE, 3)
    assert resolve_hparams(spec, get_profile("ci"))["fine_tune_from"] == 13  # ci and quick stay cheap
    assert resolve_hparams(spec, get_profile("ci"))["handle"] == SMALL_HANDLE
    full = get_profile("full")
    assert (resolve_hparams(spec, full)["handle"], resolve_hparams(spec, full)["fine_tune_from"]) == (
        DEFAULT_HANDLE, 3)
    mine = replace(full, hparams={"mobilenet_v2_hub": {"handle": str(tmp_path)}})  # (a handle must exist)
    assert resolve_hparams(spec, mine)["handle"] == str(tmp_path)  # an explicit --hp wins
    # recorded in the experiment (resume fingerprint, suite.toml), so --config reproduces it
    assert experiment_of(full, Options(), [spec])["hparams"]["mobilenet_v2_hub"]["fine_tune_from"] == 3
    from benchmarks.commands.listing import model_rows  # list --json says so too

    row = next(r for r in model_rows() if r["name"] == "mobilenet_v2_hub")
    assert row["profile_hparams"] == PROFILE_HPARAMS


def test_bundled_backbones_verify_and_export(tmp_path):
    """Both shipped MobileNetV2 checkpoints pass their checksum and export to a loadable module."""
    import tensorflow as tf
    import tensorflow_hub as hub

    from models.hub_transfer import BUNDLED, export_bundled

    out = export_bundled("mobilenet_v2_050", tmp_path)
    assert export_bundled("mobilenet_v2_050", tmp_path) == out  # once
    module = hub.load(str(out))
    assert module(tf.zeros([1, 96, 96, 3]), training=False).shape == (1, 1280)
    assert sum(int(tf.size(v)) for v in module.variables) == 706_224  # Keras's count for alpha 0.5
    assert set(BUNDLED) == {"mobilenet_v2_035", "mobilenet_v2_050"}
    # cut below block 13, and below block 1 (Keras names block 0 "expanded_conv": fine_tune_from=1
    # once failed in training): the two halves compose to the whole backbone
    images = tf.random.stateless_uniform([2, 96, 96, 3], seed=[1, 2])
    for k, fmap_shape in ((13, (2, 6, 6, 48)), (1, (2, 48, 48, 8))):
        bottom, top = (hub.load(str(export_bundled(f"mobilenet_v2_050@{cut}", tmp_path)))
                       for cut in (f":{k}", f"{k}:"))
        fmap = bottom(images, training=False)
        assert fmap.shape == fmap_shape
        np.testing.assert_allclose(top(fmap, training=False), module(images, training=False), atol=1e-4)
        assert sum(int(tf.size(v)) for m in (bottom, top) for v in m.variables) == 706_224


def test_class_weights():
    y = np.array([0] * 3 + [1] * 9)
    w = class_weights(y, 2, "balanced")
    assert w == pytest.approx({0: 2.0, 1: 12 / 18})
    assert class_weights(y, 2, "sqrt") == pytest.approx({0: 2 ** 0.5, 1: (12 / 18) ** 0.5})
    assert class_weights(y, 2, "none") is None


def test_monitor_fits_task_and_validation_size():
    auto = Recipe(monitor="auto")
    assert monitor_for(auto, 2, 78) == "val_auc"
    assert monitor_for(auto, 3, 78) == "val_loss"
    assert monitor_for(auto, 2, 6) == "none"  # Golub: 6 validation samples
    assert monitor_for(Recipe(monitor="val_auc"), 3, 500) == "val_loss"
    assert monitor_for(Recipe(), 2, 500) == "val_loss"
    by_loss = Recipe(monitor="auto", binary_monitor="val_loss")
    assert monitor_for(by_loss, 2, 114) == "val_loss"
    assert monitor_for(by_loss, 2, 6) == "none"


def test_feature_selection_is_fitted_on_train_only():
    ds = get_dataset("golub").load(LoadOptions(seed=0))
    kept, info = select_features(ds, 50)
    assert kept.input_shape == (50,) and info["n_features_in"] == ds.input_shape[0]
    rng = np.random.default_rng(0)
    noisy = replace(ds, val=Split(rng.normal(size=ds.val.x.shape).astype("float32"), ds.val.y[::-1].copy()),
                    test=Split(rng.normal(size=ds.test.x.shape).astype("float32"), ds.test.y[::-1].copy()))
    kept2, _ = select_features(noisy, 50)
    np.testing.assert_array_equal(kept.train.x, kept2.train.x)  # same genes: val/test never looked at
    same, none = select_features(ds, 0)
    assert same is ds and none is None


def test_recipe_is_recorded_and_dnn_on_golub_keeps_the_selected_genes(tmp_path):
    from benchmarks.execution.harness import run_one

    ds = get_dataset("golub").load(LoadOptions(seed=0))
    cfg = get_profile("quick").with_(epochs=3)
    rec = run_one(get_model("dnn"), ds, 0, cfg, run_dir=tmp_path)
    assert rec["recipe"]["select_features"] == 200 and rec["feature_selection"]["k"] == 200
    assert rec["recipe"]["monitor"] == "none"  # 7 validation samples: they train too
    assert rec["recipe"]["class_weights"][1] > rec["recipe"]["class_weights"][0]  # AML is the minority
    assert rec["tuned"] is None


def test_every_profiles_mobilenet_handles_pass_the_handle_check():
    """The handles each profile resolves, split ones included (NAME@:K / NAME@K:), pass the check
    that runs before training (a merge once refused the split ones: every standard run failed)."""
    from benchmarks.adapters.base import resolve_hparams
    from benchmarks.core.profiles import PROFILE_NAMES
    from models.hub_transfer import check_handle, split_handle

    spec = get_model("mobilenet_v2_hub")
    for profile in PROFILE_NAMES:
        hp = resolve_hparams(spec, get_profile(profile))
        check_handle(hp["handle"])
        if hp.get("fine_tune_from"):
            for half in split_handle(hp["handle"], hp["fine_tune_from"]):
                check_handle(half)
    with pytest.raises(OncobenchError, match="no such bundled model"):
        check_handle("bundled:nope@:13")


def test_without_early_stopping_every_epoch_trains_and_the_best_is_kept(tmp_path):
    from benchmarks.execution.harness import run_one

    with pytest.raises(OncobenchError, match="early_stopping"):
        Recipe().with_(early_stopping="no")
    ds = get_dataset("wisconsin").load(LoadOptions(seed=0))
    cfg = get_profile("quick").with_(epochs=12, patience=1, learning_rate=0.05,
                                     recipes={"dnn": {"early_stopping": False}})
    rec = run_one(get_model("dnn"), ds, 0, cfg, run_dir=tmp_path / "all")
    assert rec["recipe"]["early_stopping"] is False
    assert rec["epochs"] == 12 and len(rec["curves"]["val_loss"]) == 12  # patience 1 ignored
    vl = rec["curves"]["val_loss"]
    assert rec["best_epoch"] == int(np.argmin(vl)) + 1  # the best epoch by the monitor, kept
    stopped = run_one(get_model("dnn"), ds, 0, replace(cfg, recipes={}), run_dir=tmp_path / "stop")
    assert stopped["epochs"] == min(12, stopped["best_epoch"] + 1)  # patience 1: one epoch past the best


def test_keep_epoch_last_keeps_the_last_epochs_weights_and_still_scores_validation(tmp_path):
    """keep_epoch="last": the checkpoint (and the predictions) hold the weights of the last epoch,
    not the best one by the monitor; validation stays held out (val scores, threshold)."""
    import keras

    from benchmarks.execution.harness import run_one

    with pytest.raises(OncobenchError, match="keep_epoch"):
        Recipe().with_(keep_epoch="first")
    with pytest.raises(OncobenchError, match="set early_stopping=false"):
        Recipe().with_(keep_epoch="last")

    class Snapshots(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.weights: list[list[np.ndarray]] = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append([np.array(w) for w in self.model.get_weights()])

    ds = get_dataset("wisconsin").load(LoadOptions(seed=0))
    kept = {}
    for keep in ("best", "last"):
        cfg = get_profile("quick").with_(epochs=12, learning_rate=0.1, schedule="constant", recipes={
            "dnn": {"early_stopping": False, "keep_epoch": keep}})
        snaps = Snapshots()
        rec = run_one(get_model("dnn"), ds, 0, cfg, run_dir=tmp_path / keep, callbacks=[snaps])
        model = get_model("dnn").create(ds.input_shape, ds.num_classes, rec["hparams"], seed=0)
        model.load_weights(str(tmp_path / keep / rec["checkpoint"]))
        kept[keep] = (rec, snaps.weights, [np.array(w) for w in model.get_weights()])
    rec, snaps, weights = kept["best"]
    best = int(np.argmin(rec["curves"]["val_loss"]))
    assert best != 11 and rec["best_epoch"] == best + 1  # the data make best and last differ
    assert all(np.allclose(a, b) for a, b in zip(weights, snaps[best]))
    rec, snaps, weights = kept["last"]
    assert rec["recipe"]["keep_epoch"] == "last" and rec["best_epoch"] == rec["epochs"] == 12
    assert all(np.allclose(a, b) for a, b in zip(weights, snaps[-1]))
    assert not all(np.allclose(a, b) for a, b in zip(weights, snaps[best]))
    assert len(rec["curves"]["val_loss"]) == 12 and rec["val_threshold"] is not None
    assert len(rec["val_scores"]) == len(ds.val)


def test_a_fine_tuning_cut_past_the_last_block_is_refused_before_training(capsys):
    """fine_tune_from=17 passed the range check (0..17) and then failed in training (split_handle
    takes blocks 1..16): now one line, exit 2, before any run."""
    from benchmarks.cli import main

    assert main(["run", "--model", "mobilenet_v2_hub", "--dataset", "breastmnist", "--profile", "quick",
                 "--hp", "mobilenet_v2_hub.fine_tune_from=17", "--output", "/nonexistent/never-made"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fine_tune_from=17: out of range; valid: 0 <= fine_tune_from <= 16" in err[0]


def test_a_bad_recipe_value_names_its_model(capsys):
    """Of two models given --recipe values, the one line says whose recipe is wrong."""
    from benchmarks.cli import main

    assert main(["run", "--model", "cnn,mobilenet_v2_hub", "--dataset", "breastmnist", "--profile", "quick",
                 "--recipe", "mobilenet_v2_hub.keep_epoch=last", "--recipe", "cnn.keep_epoch=last",
                 "--output", "/nonexistent/never-made"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("cnn's recipe keep_epoch 'last' trains every epoch: set early_stopping=false "
                              "too") in err[0], err  # mobilenet_v2_hub trains every epoch already
