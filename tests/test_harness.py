"""The harness record: every field present and sane, for a Keras and a scikit-learn model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.config import get_profile
from benchmarks.execution.harness import run_one
from benchmarks.records.results import FIELDS, ResultsStore
from datasets import LoadOptions, get_dataset
from models import get_model

REQUIRED = [
    "schema_version", "key", "status", "model", "framework", "dataset", "modality", "seed", "fold",
    "profile", "hparams", "config", "accuracy", "balanced_accuracy", "f1_macro", "f1_weighted",
    "precision_macro", "recall_macro", "roc_auc", "confusion_matrix", "per_class_f1", "train_time_s",
    "epochs", "train_samples_per_s", "inference_samples_per_s", "latency_ms_p50", "latency_ms_p95",
    "params", "curves", "device_kind", "device_name", "environment", "data",
]


@pytest.fixture(scope="module")
def wisconsin():
    return get_dataset("wisconsin").load(LoadOptions(seed=0))


@pytest.fixture(scope="module")
def env():
    from benchmarks import measure

    return measure.environment(measure.configure_threads())


def _check_common(rec, ds):
    for field in REQUIRED:
        assert field in rec, field
    assert set(rec) <= set(FIELDS), set(rec) - set(FIELDS)
    for m in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro",
              "recall_macro", "roc_auc"):
        assert 0.0 <= rec[m] <= 1.0, m
    cm = np.array(rec["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == len(ds.test)
    assert math.isclose(rec["accuracy"], np.trace(cm) / cm.sum())
    assert set(rec["per_class_f1"]) == set(ds.class_names)
    assert rec["train_time_s"] > 0 and rec["inference_samples_per_s"] > 0
    assert 0 < rec["latency_ms_p50"] <= rec["latency_ms_p95"] <= rec["latency_ms_p99"]
    assert rec["params"] > 0
    assert rec["device_kind"] in ("CPU", "GPU") and rec["device_name"]
    assert rec["environment"]["tensorflow"] and rec["environment"]["keras"].startswith("3")
    assert rec["data"]["n_test"] == len(ds.test) and rec["data"]["files"]
    assert len(rec["test_scores"]) == len(ds.test)
    json.dumps(rec)  # JSON-serialisable


def test_keras_record(tmp_path, wisconsin, env):
    config = get_profile("quick").with_(epochs=3, patience=5)
    rec = run_one(get_model("dnn"), wisconsin, 0, config, run_dir=tmp_path, environment=env)
    _check_common(rec, wisconsin)
    assert rec["framework"] == "keras" and rec["epochs"] == 3
    assert rec["accuracy"] > 0.85  # a real signal on Wisconsin, not chance (63% majority)
    assert len(rec["curves"]["loss"]) == 3 and len(rec["curves"]["val_accuracy"]) == 3
    assert rec["steady"] is True and rec["train_steps_measured"] == 2 * math.ceil(369 / 64)
    assert rec["first_epoch_s"] > 0 and rec["train_samples_per_s"] > 0
    assert (tmp_path / rec["checkpoint"]).is_file()
    assert 1 <= rec["best_epoch"] <= 3
    assert rec["flops_per_sample"] > 2 * (30 * 512 + 512 * 256)
    assert rec["hparams"]["hidden_units"] == [512, 256] or rec["hparams"]["hidden_units"] == (512, 256)


def test_sklearn_record(tmp_path, wisconsin, env):
    rec = run_one(get_model("logreg"), wisconsin, 0, get_profile("quick"), run_dir=tmp_path,
                  environment=env)
    _check_common(rec, wisconsin)
    assert rec["framework"] == "sklearn" and rec["epochs"] is None
    assert rec["params"] == 31  # 30 coefficients + intercept
    assert rec["accuracy"] > 0.9


def test_incompatible_pair_is_refused(tmp_path, wisconsin):
    from benchmarks.core.errors import OncobenchError

    with pytest.raises(OncobenchError, match="does not accept tabular"):
        run_one(get_model("cnn"), wisconsin, 0, get_profile("quick"), run_dir=tmp_path)


def test_store_is_atomic_and_resumable(tmp_path):
    store = ResultsStore(tmp_path, {"command": "x"})
    store.append({"key": "a|b|0|-", "status": "ok", "accuracy": float("nan")})
    store.append({"key": "a|b|1|-", "status": "failed", "error": "boom"})
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["schema_version"] == 1 and doc["records"][0]["accuracy"] is None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".results.json")]
    again = ResultsStore(tmp_path)
    assert again.done_keys() == {"a|b|0|-"}  # failed runs are retried on resume
    assert again.meta["command"] == "x"
