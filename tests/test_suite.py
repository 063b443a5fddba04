"""Suite files: run --config reproduces a saved run; unknown keys and bad values are one line, exit 2."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.config import get_profile
from benchmarks.config.suite import Suite, read_suite, suite_to_toml
from datasets.base import LoadOptions

QUALITY = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "test_scores")


def _records(run_dir: Path) -> dict[str, dict]:
    return {r["key"]: r for r in json.loads((run_dir / "results.json").read_text())["records"]}


def _same_quality(first: Path, second: Path, n: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Both run folders' records, asserted to be the same ``n`` keys with equal quality fields."""
    a, b = _records(first), _records(second)
    assert sorted(a) == sorted(b) and len(a) == n
    for key in a:
        for metric in QUALITY:
            assert a[key][metric] == b[key][metric], (key, metric)
    return a, b


def test_saved_suite_reproduces_the_run(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", "--model", "dnn,logreg", "--dataset", "wisconsin", "--profile", "quick",
                 "--deterministic", "--epochs", "3", "--seeds", "0,1", "--hp", "dnn.dropout=0.3",
                 "--hp", "logreg.C=0.5", "--output", str(first)]) == 0
    saved = first / "suite.toml"
    text = saved.read_text()
    assert "dropout = 0.3" in text and "C = 0.5" in text and "deterministic = true" in text
    assert main(["run", "--config", str(saved), "--output", str(second)]) == 0
    capsys.readouterr()
    a, b = _same_quality(first, second, 4)
    for key in a:
        assert a[key]["hparams"] == b[key]["hparams"] and a[key]["config"] == b[key]["config"]
        assert a[key]["fingerprint"] == b[key]["fingerprint"]
    # the reproduced run saves the same suite again (apart from where it came from)
    strip = lambda t: [ln for ln in t.splitlines() if not ln.startswith("#")]
    assert strip((second / "suite.toml").read_text()) == strip(text)


def test_command_line_overrides_the_suite_file(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('models = ["logreg"]\ndatasets = ["wisconsin"]\nprofile = "quick"\n'
                     '[hparams.logreg]\nC = 2.0\n')
    assert main(["run", "--config", str(suite), "--hp", "logreg.max_iter=300", "--seeds", "3",
                 "--output", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    (rec,) = _records(tmp_path / "r").values()
    assert rec["seed"] == 3 and rec["hparams"] == {"C": 2.0, "max_iter": 300}


def test_round_trip_and_relative_plugins(tmp_path):
    config = get_profile("ci").with_(epochs=4, target=("val_accuracy", 0.9),
                                     hparams={"dnn": {"units": (8, 4)}})
    suite = Suite(models=("dnn",), datasets=("golub", "csv:data/x.csv"), config=config,
                  data=LoadOptions(top_k_genes=50, data_dir=Path("/tmp/cache"), label_column="y"),
                  plugins=("plug.py", "some.module"), threads=2)
    path = tmp_path / "suite.toml"
    path.write_text(suite_to_toml(suite))
    back = read_suite(path)
    assert back.config.hparams == {"dnn": {"units": [8, 4]}}
    assert replace(back.config, hparams=config.hparams) == config
    assert back.data == suite.data and back.threads == 2
    assert back.plugins == (str(tmp_path / "plug.py"), "some.module")  # files: next to the suite
    assert back.models == suite.models and back.datasets == suite.datasets


def test_recipes_tuned_federated_and_execution_round_trip(tmp_path):
    from benchmarks.config.federated import FederatedConfig

    tuned = {"logreg|wisconsin": {"hparams": {"C": 0.25}, "recipe": {}, "learning_rate": None,
                                  "source": "t/tuned.json"},
             "dnn|golub": {"hparams": {"units": (64, 32)}, "recipe": {"weight_decay": 0.01},
                           "learning_rate": 0.003, "source": "t/tuned.json"}}
    config = get_profile("quick").with_(recipes={"cnn": {"label_smoothing": 0.1, "schedule": "cosine"}},
                                        tuned=tuned)
    ways = (None, FederatedConfig(strategy="fedprox", clients=3, partition="dirichlet:0.5", rounds=2))
    execution = {"isolate": True, "workers": 2, "run_timeout": 90.0, "retry_failed": True,
                 "executor": "local", "ray_address": None}
    suite = Suite(models=("dnn",), config=config, ways=ways, execution=execution)
    path = tmp_path / "suite.toml"
    path.write_text(suite_to_toml(suite))
    back = read_suite(path)
    assert back.config.recipes == config.recipes
    assert back.config.tuned["dnn|golub"]["hparams"] == {"units": (64, 32)}
    assert back.config.tuned == tuned
    assert back.ways == ways  # the centralised run (None) beside the federated one
    assert back.execution == execution


def test_saved_suite_keeps_recipe_and_tuned_values(tmp_path, capsys):
    tuned = tmp_path / "tuned.json"
    tuned.write_text(json.dumps({"format": 1, "pairs": {"logreg|wisconsin": {"hparams": {"C": 0.05}}}}))
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["run", "--model", "dnn,logreg", "--dataset", "wisconsin", "--profile", "quick",
                 "--deterministic", "--epochs", "2", "--recipe", "dnn.label_smoothing=0.2",
                 "--tuned", str(tuned), "--output", str(first)]) == 0
    text = (first / "suite.toml").read_text()
    assert "label_smoothing = 0.2" in text and '[tuned."logreg|wisconsin"."hparams"]' in text
    assert main(["run", "--config", str(first / "suite.toml"), "--output", str(second)]) == 0
    capsys.readouterr()
    a, b = _same_quality(first, second, 2)
    for key in a:
        assert a[key]["recipe"] == b[key]["recipe"] and a[key]["hparams"] == b[key]["hparams"]
    logreg = next(r for r in b.values() if r["model"] == "logreg")
    assert logreg["hparams"]["C"] == 0.05 and logreg["tuned"]
    dnn = next(r for r in b.values() if r["model"] == "dnn")
    assert dnn["recipe"]["label_smoothing"] == 0.2


@pytest.mark.parametrize("text,message", [
    ('modles = ["dnn"]\n', "unknown key 'modles'; valid: models, datasets, profile, seeds"),
    ('models = ["dnn"]\n[training]\nepoch = 3\n', "[training]: unknown key 'epoch'; valid: epochs,"),
    ('models = ["dnn"]\n[data]\ncv = 3\n', "[data]: unknown key 'cv'; valid: data_dir, cv_folds"),
    ('models = ["dnn"]\n[training]\nepochs = "ten"\n', "[training].epochs = 'ten': expected an integer"),
    ('models = ["dnn"]\nseeds = 3\n', "seeds = 3: expected a list of integers"),
    ('models = ["dnn"]\nprofile = "huge"\n', "unknown profile 'huge'"),
    ('models = ["dnn"]\n[training]\nlearning_rate = -1.0\n', "--lr -1.0: must be a finite number"),
    ('models = ["dnn"]\n[hparams.dnn]\nnope = 1\n', "no hyper-parameter nope"),
    ('models = ["dnn"\n', "not valid TOML"),
    ('models = ["dnn"]\n[data]\ncv_folds = 1\n', "--cv 1: need at least 2 folds"),
    ('models = ["dnn"]\n[execution]\nworkers = 0\n', "[execution].workers 0: must be at least 1"),
    ('models = ["dnn"]\n[execution]\nexecutor = "slurm"\n', "executor 'slurm': valid: local, ray"),
    ('models = ["logreg"]\n[recipes.logreg]\nweight_decay = 0.1\n', "logreg is a sklearn model and recipes"),
    ('models = ["dnn"]\n[execution]\njobs = 2\n', "[execution]: unknown key 'jobs'; valid: isolate, workers"),
    ('models = ["dnn"]\n[[federated]]\nstrategy = "fedsgd"\n', "--federated 'fedsgd': valid: central"),
    ('models = ["dnn"]\n[[federated]]\nclients = "3"\n', "[0].clients = '3': expected an integer"),
    ('models = ["dnn"]\nrecipes = 3\n', "[recipes]: expected one table per model"),
    ('models = ["dnn"]\n[recipes.dnn]\nlabel_smothing = 0.1\n', "recipe has no field label_smothing"),
    ('models = ["dnn"]\n[tuned.dnn]\nC = 1\n', "expected a table keyed \"MODEL|DATASET\""),
])
def test_bad_suite_file_is_one_line_exit_2(tmp_path, capsys, text, message):
    suite = tmp_path / "bad.toml"
    suite.write_text(text)
    rc = main(["run", "--config", str(suite), "--output", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "r").exists()


def test_missing_suite_file(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_command_line_execution_flags_override_the_suite_file():
    """A flag given on the command line wins over the suite's [execution], even at its default."""
    import argparse

    from benchmarks.commands.args import execution_from_args

    suite = {"isolate": True, "workers": 2, "run_timeout": 60.0, "executor": "local"}
    flags = argparse.Namespace(isolate=False, jobs=1, run_timeout=None, retry_failed=False,
                               executor=None, ray_address=None)
    got = execution_from_args(flags, suite)
    assert got["workers"] == 1 and got["isolate"] is True and got["run_timeout"] == 60.0
    assert execution_from_args(argparse.Namespace(**{**vars(flags), "jobs": None}), suite)["workers"] == 2
