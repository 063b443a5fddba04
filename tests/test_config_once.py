"""One configuration: a command line and the equivalent ``api.suite(...)`` call build equal
``Suite``s through the same function, and the ``suite.toml`` saved beside a run reproduces it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import api
from benchmarks.cli import build_parser
from benchmarks.commands.run import suite_from_args
from benchmarks.config.suite import read_suite, suite_to_toml

SUITE_TOML = """models = ["dnn", "logreg"]
datasets = ["wisconsin"]
profile = "quick"
[training]
epochs = 4
[hparams.dnn]
dropout = 0.2
[execution]
workers = 2
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE_TOML)
    tuned = tmp_path / "tuned.json"
    tuned.write_text(json.dumps({"format": 1, "pairs": {"dnn|wisconsin": {
        "hparams": {"dropout": 0.1}, "recipe": {"label_smoothing": 0.05}, "learning_rate": 0.002}}}))
    return {"suite": str(suite), "tuned": str(tuned)}


# (command line after "run", the equivalent api.suite keyword arguments); {suite}/{tuned}: files
CASES = [
    ("--model dnn,logreg --dataset wisconsin --profile quick",
     dict(models=["dnn", "logreg"], datasets=["wisconsin"], profile="quick")),
    ("--model cnn --dataset breastmnist --seeds 3,5 --epochs 2 --batch-size 16 --lr 0.01 --patience 1",
     dict(models="cnn", datasets="breastmnist", seeds=[3, 5], epochs=2, batch_size=16, learning_rate=0.01,
          patience=1)),
    ("--model cnn --dataset breastmnist --recipe cnn.class_weight='balanced' "
     "--recipe cnn.label_smoothing=0.1",
     dict(models="cnn", datasets="breastmnist", recipes={"cnn": {"class_weight": "balanced",
                                                                 "label_smoothing": 0.1}})),
    ("--model dnn --dataset wisconsin --tuned {tuned}",
     dict(models="dnn", datasets="wisconsin", tuned="{tuned}")),
    ("--model dnn --dataset wisconsin --strategy mirrored --scaling --precision mixed_bfloat16",
     dict(models="dnn", datasets="wisconsin", strategy="mirrored", scaling=True, precision="mixed_bfloat16")),
    ("--model logreg --dataset wisconsin --isolate --jobs 2 --run-timeout 30 --retry-failed",
     dict(models="logreg", datasets="wisconsin",
          execution={"isolate": True, "workers": 2, "run_timeout": 30.0, "retry_failed": True})),
    ("--model dnn --dataset wisconsin --threads 1 --inter-op-threads 2 --deterministic --jit-compile",
     dict(models="dnn", datasets="wisconsin", threads=1, inter_op_threads=2, deterministic=True,
          jit_compile=True)),
    ("--model dnn --dataset wisconsin --federated central,fedprox --clients 3 --rounds 2 --proximal-mu 0.5",
     dict(models="dnn", datasets="wisconsin", federated=[
         {"strategy": "central"},
         {"strategy": "fedprox", "clients": 3, "partition": "iid", "rounds": 2, "local_epochs": 1,
          "fraction_fit": 1.0, "proximal_mu": 0.5, "server_lr": 0.01, "dp_noise": None, "dp_clip": None}])),
    ("--model dnn,logreg --dataset golub --cv 3 --top-k-genes 500 --impute mean --cache-memory-gb 1.5",
     dict(models=["dnn", "logreg"], datasets="golub", cv_folds=3, top_k_genes=500, impute="mean",
          cache_memory_gb=1.5)),
    ("--model logreg --dataset csv:x.csv --label-column y --id-column id --sep ; --transpose --image-size 32",
     dict(models="logreg", datasets="csv:x.csv", label_column="y", id_column="id", sep=";", transpose=True,
          image_size=32)),
    ("--config {suite} --epochs 6 --hp dnn.dropout=0.4 --jobs 1 --repeats 2",
     dict(config="{suite}", epochs=6, hparams={"dnn": {"dropout": 0.4}}, execution={"workers": 1},
          seeds=2)),
    ("--config {suite} --hub-handle /tmp/hub --explain --tensorboard tb",
     dict(config="{suite}", hparams={"mobilenet_v2_hub": {"handle": "/tmp/hub"}}, explain=True,
          tensorboard="tb")),
]


def _fill(value, files):
    if isinstance(value, str):
        return value.format(**files)
    if isinstance(value, dict):
        return {k: _fill(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, files) for v in value]
    return value


@pytest.mark.parametrize("line,kwargs", CASES, ids=[c[0][:48] for c in CASES])
def test_command_line_and_api_build_the_same_suite(line, kwargs, files, tmp_path):
    argv = ["run", *[a.format(**files) for a in line.split()]]
    from_cli = suite_from_args(build_parser().parse_args(argv))
    from_api = api.suite(**_fill(kwargs, files))
    assert from_cli == from_api
    # the saved suite.toml reproduces it (where to write is a comment there: a rerun is a new folder)
    saved = tmp_path / "saved.toml"
    saved.write_text(suite_to_toml(from_cli))
    again = read_suite(saved)
    assert again == replace(from_cli, output=None, tensorboard=None)


def test_the_table_covers_every_kind_of_setting():
    joined = " ".join(line for line, _ in CASES)
    for flag in ("--recipe", "--tuned", "--strategy", "--jobs", "--threads", "--federated", "--cv",
                 "--label-column", "--config"):
        assert flag in joined, flag
    assert len(CASES) >= 10


def test_a_difference_is_seen():
    """The comparison is not vacuous: one flag more gives another suite."""
    a = suite_from_args(build_parser().parse_args(["run", "--model", "dnn", "--epochs", "3"]))
    assert a != api.suite("dnn", epochs=4)
