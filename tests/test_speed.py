"""``speed``: Keras models timed on Keras's active backend (tensorflow here; jax when installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.commands.speed import table

ROOT = Path(__file__).resolve().parents[1]
COST = ("first_epoch_s", "train_samples_per_s", "inference_samples_per_s", "latency_ms_p50")


def test_speed_times_keras_pairs_skips_sklearn_and_writes_json(tmp_path, capsys):
    out = tmp_path / "speed.json"
    code = main(["speed", "--model", "dnn,logreg", "--dataset", "wisconsin", "--epochs", "3",
                 "--output", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "skipped logreg on wisconsin: a sklearn model" in printed
    doc = json.loads(out.read_text())
    assert doc["machine"]["backend"] == "tensorflow" and doc["machine"]["device_kind"] in ("CPU", "GPU")
    (row,) = doc["rows"]
    assert (row["model"], row["dataset"], row["epochs"], row["batch_size"]) == ("dnn", "wisconsin", 3, 32)
    assert all(row[k] > 0 for k in COST), row
    assert row["steady"] is True and row["train_steps_measured"] == 2 * 12  # epochs 2..3 of 12 steps
    assert row["params"] > 0 and row["accuracy"] > 0.8 and row["roc_auc"] > 0.9  # it learned
    assert "dnn" in printed and "train samples/s" in printed


def test_speed_table_rounds_for_reading():
    text = table([{"model": "cnn", "dataset": "d", "params": 10, "jit_compiled": True,
                   "first_epoch_s": 12.345, "train_samples_per_s": 8368.4, "accuracy": 0.79487,
                   "roc_auc": None}])
    assert "8,368" in text and "0.795" in text and "12" in text and "True" in text


def test_model_needing_a_missing_package_is_one_line(monkeypatch, tmp_path):
    from benchmarks.core.errors import OncobenchError
    from benchmarks.speed import backend as backend_speed
    from datasets.registry import get_dataset
    from models.registry import get_model

    def create(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'tensorflow_hub'", name="tensorflow_hub")

    spec = replace(get_model("cnn"), build=create)
    config = backend_speed.RunConfig(epochs=2)
    with pytest.raises(OncobenchError, match=r"model cnn needs tensorflow_hub, which is not installed"):
        backend_speed.speed_pair(spec, get_dataset("breastmnist").load(), config)


@pytest.mark.parametrize("argv, message", [
    (["--model", "logreg", "--dataset", "wisconsin", "--jit-compile", "sometimes"], "invalid choice"),
    (["--model", "nope", "--dataset", "wisconsin"], "unknown model 'nope'"),
    (["--model", "cnn", "--dataset", "wisconsin"], "incompatible"),
    (["--model", "dnn", "--dataset", "wisconsin", "--epochs", "0"], "--epochs 0: must be an integer"),
    (["--model", "dnn", "--dataset", "wisconsin", "--output", "."], "is a folder; give a file path"),
])
def test_speed_bad_input_exits_2(argv, message, capsys):
    try:
        code = main(["speed", *argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_augmentation_is_jittable_on_jax(monkeypatch):
    """Keras marks RandomRotation/Zoom/Translation un-jittable for every backend; on JAX that made
    the cnn train op by op (17 samples/s on an H100). The builder marks them jittable there."""
    import keras

    from models.registry import get_model

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    spec = get_model("cnn")
    model = spec.create((28, 28, 1), 2, spec.hparams(), seed=0)
    assert [layer.name for layer in model.layers if not layer.supports_jit] == []


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs jax (pip install oncobench[jax])")
def test_cnn_compiles_and_learns_on_the_jax_backend(tmp_path):
    out = tmp_path / "jax.json"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "speed", "--model", "cnn", "--dataset",
                           "breastmnist", "--epochs", "2", "--output", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["machine"]["backend"] == "jax" and "tensorflow" not in doc["machine"]
    (row,) = doc["rows"]
    assert row["jit_compiled"] is True  # op by op would be ~25x slower
    assert all(row[k] > 0 for k in COST) and 0 <= row["accuracy"] <= 1
