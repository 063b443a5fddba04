"""``tune``: the objective never reads the test split, every model gets the same budget, the
defaults are trial 0 (best <= default on validation), and ``run --tuned`` applies and records it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("optuna")

from benchmarks.cli import main  # noqa: E402
from benchmarks.config import get_profile  # noqa: E402
from benchmarks.execution import tune  # noqa: E402
from benchmarks.execution.harness import run_one  # noqa: E402
from datasets import LoadOptions, get_dataset  # noqa: E402
from datasets.base import Split  # noqa: E402
from models import get_model  # noqa: E402


class ForbiddenSplit(Split):
    """A test split that fails the run the moment anything reads it."""

    def __getattribute__(self, name):
        if name in ("x", "y"):
            raise AssertionError("the test split was read while tuning")
        return super().__getattribute__(name)

    def __len__(self) -> int:
        raise AssertionError("the test split was read while tuning")


def _blind(ds):
    return replace(ds, test=ForbiddenSplit(np.zeros((1, 1)), np.zeros(1, int)))


@pytest.fixture(scope="module")
def golub():
    return get_dataset("golub").load(LoadOptions(seed=0))


@pytest.fixture(scope="module")
def wisconsin():
    return get_dataset("wisconsin").load(LoadOptions(seed=0))


def test_views_use_train_and_val_only(golub, wisconsin):
    for ds, n_views in ((golub, 3), (wisconsin, 1)):
        views = tune.tuning_views(_blind(ds), seed=0, folds=3)
        assert len(views) == n_views
        pool = np.concatenate([ds.train.x, ds.val.x])
        rows = {r.tobytes() for r in pool}
        for v in views:
            for split in (v.train, v.val, v.test):
                assert all(r.tobytes() in rows for r in split.x)  # nothing from ds.test
            held = {r.tobytes() for r in v.test.x}
            assert not held & {r.tobytes() for r in np.concatenate([v.train.x, v.val.x])}
    held_all = np.concatenate([v.test.y for v in tune.tuning_views(golub, 0, 3)])
    assert len(held_all) == len(golub.train) + len(golub.val)  # each sample scored once


def test_tune_never_reads_the_test_split_and_beats_or_ties_the_defaults(golub, tmp_path):
    spec = get_model("logreg")
    cfg = get_profile("quick")
    r = tune.tune_pair(spec, _blind(golub), cfg, trials=6, budget_s=None, work_dir=tmp_path)
    assert len(r.trials) == 6
    assert r.trials[0]["params"] == {"C": 1.0}  # trial 0: the defaults
    assert r.default_value is not None and r.best_value <= r.default_value  # log loss: lower is better
    assert set(r.best["hparams"]) == {"C"} and r.best["learning_rate"] is None


def test_keras_trials_prune_through_the_callback_and_budget_in_seconds(wisconsin, tmp_path):
    spec = get_model("dnn")
    cfg = get_profile("quick").with_(epochs=4, patience=4)
    r = tune.tune_pair(spec, _blind(wisconsin), cfg, trials=None, budget_s=1.0, work_dir=tmp_path)
    assert 1 <= len(r.trials)  # the budget stops the study after the running trial
    first = r.trials[0]["params"]
    assert first["dropout"] == spec.defaults["dropout"] and first["hidden_units"] == "(512, 256)"


def test_pruning_callback_raises_trial_pruned():
    import optuna

    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=1.0))
    trial = study.ask()
    cb = tune.pruning_callback(trial, 0)
    cb.on_epoch_end(0, {"val_loss": 0.5})
    with pytest.raises(optuna.TrialPruned):
        cb.on_epoch_end(1, {"val_loss": 2.0})


def test_tune_cli_writes_tuned_json_and_run_uses_it(tmp_path, golub, capsys):
    out = tmp_path / "tuned"
    assert main(["tune", "--model", "logreg,random_forest", "--dataset", "golub", "--trials", "3",
                 "--profile", "quick", "--output", str(out)]) == 0
    doc = json.loads((out / tune.TUNED_JSON).read_text())
    assert set(doc["pairs"]) == {"logreg|golub", "random_forest|golub"}
    assert all(p["trials"] == 3 for p in doc["pairs"].values())  # the same budget for every model
    trials = json.loads((out / tune.TRIALS_JSON).read_text())
    assert len(trials) == 6 and doc["meta"]["objective_on"].startswith("validation only")
    tuned = tune.load_tuned(out)
    cfg = get_profile("quick").with_(tuned=tuned)
    rec = run_one(get_model("logreg"), golub, 0, cfg, run_dir=tmp_path / "run")
    assert rec["tuned"]["hparams"] == doc["pairs"]["logreg|golub"]["hparams"]
    assert rec["hparams"]["C"] == pytest.approx(doc["pairs"]["logreg|golub"]["hparams"]["C"])
    assert rec["tuned"]["source"].endswith("tuned.json")


def test_tune_a_plugin_model(tmp_path, golub, capsys, monkeypatch):
    """``tune --plugin FILE`` tunes a model registered outside oncobench, search space and all."""
    from benchmarks.core import plugins
    from models import registry as mreg

    mreg.list_models()
    monkeypatch.setattr(mreg, "_REGISTRY", dict(mreg._REGISTRY))
    monkeypatch.setattr(plugins, "_loaded", {})
    plugin = tmp_path / "knn_plugin.py"
    plugin.write_text(
        "from models.registry import register_model\n"
        "from models.recipe import ints\n\n\n"
        "@register_model('plug_knn', modalities=('expression', 'tabular'), framework='sklearn',\n"
        "                search_space={'k': ints(1, 9)})\n"
        "def build(input_shape, num_classes, *, k: int = 5):\n"
        "    \"\"\"k nearest neighbours (a plugin).\"\"\"\n"
        "    from sklearn.neighbors import KNeighborsClassifier\n"
        "    return KNeighborsClassifier(n_neighbors=k)\n")
    out = tmp_path / "tuned"
    assert main(["tune", "--model", "plug_knn", "--dataset", "golub", "--trials", "2", "--profile", "quick",
                 "--plugin", str(plugin), "--output", str(out)]) == 0
    capsys.readouterr()
    pairs = json.loads((out / tune.TUNED_JSON).read_text())["pairs"]
    assert set(pairs) == {"plug_knn|golub"} and 1 <= pairs["plug_knn|golub"]["hparams"]["k"] <= 9


def test_tune_and_tuned_errors(tmp_path):
    from benchmarks.core.errors import OncobenchError

    with pytest.raises(OncobenchError, match="no such file"):
        tune.load_tuned(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(OncobenchError, match="not a tuned.json"):
        tune.load_tuned(tmp_path / "bad.json")
    assert main(["tune", "--model", "logreg", "--dataset", "golub"]) != 0  # no budget given


@pytest.mark.parametrize("when", ["write", "trial"])
def test_ctrl_c_while_optuna_stores_a_trial_is_a_clean_interrupt(golub, tmp_path, monkeypatch, when):
    """A Ctrl-C that lands while Optuna writes a finished trial to its database broke Optuna's
    bookkeeping (UnboundLocalError, a traceback and exit 1; seen in the Ctrl-C test); now it is
    held until the write is done and stops the study there; one during training stops at once."""
    import os
    import signal

    import optuna

    calls = {"n": 0}
    if when == "write":
        real = optuna.storages.RDBStorage.set_trial_state_values

        def write_then_ctrl_c(self, trial_id, state, values=None):
            done = real(self, trial_id, state, values)
            if state == optuna.trial.TrialState.COMPLETE:
                calls["n"] += 1
                if calls["n"] == 2:
                    os.kill(os.getpid(), signal.SIGINT)  # delivered inside Optuna's write
            return done

        monkeypatch.setattr(optuna.storages.RDBStorage, "set_trial_state_values", write_then_ctrl_c)
    else:
        from benchmarks.execution import harness

        real_run = harness.run_one

        def train_then_ctrl_c(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 4:
                os.kill(os.getpid(), signal.SIGINT)  # during a trial's training
            return real_run(*args, **kwargs)

        monkeypatch.setattr(harness, "run_one", train_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    try:
        with pytest.raises(KeyboardInterrupt):
            tune.tune_pair(get_model("logreg"), _blind(golub), get_profile("quick"), trials=50,
                           budget_s=None, work_dir=tmp_path, storage=storage)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    states = [t.state for t in study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    assert complete == 2 if when == "write" else complete == 1  # golub: 3 inner folds a trial
    assert optuna.trial.TrialState.RUNNING not in states  # nothing left half-stored
