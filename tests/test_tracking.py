"""Tracking tools: --tensorboard event files and an MLflow file store, written and read back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import api
from benchmarks.cli import main
from benchmarks.core.errors import OncobenchError


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A quick run of dnn and logreg on wisconsin with TensorBoard logs beside it."""
    pytest.importorskip("tensorboard", reason="needs oncobench[tensorboard] (CI installs it)")
    root = tmp_path_factory.mktemp("tracked")
    api.run(["dnn", "logreg"], "wisconsin", seeds=[0], profile="quick", epochs=3, output=root / "run",
            tensorboard=root / "tb")
    return root / "run"


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(folder), size_guidance={TENSORS: 0})
    acc.Reload()
    out = {tag: [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]
           for tag in acc.Tags()["tensors"]}
    return {tag: [(s, float(v)) for s, v in events] for tag, events in out.items()  # scalars only
            if all(v.ndim == 0 for _, v in events)}


def _records(run_dir: Path) -> dict[str, dict]:
    return {r["model"]: r for r in json.loads((run_dir / "results.json").read_text())["records"]}


def test_tensorboard_event_files_hold_curves_and_test_metrics(run_dir):
    from benchmarks.tracking.tensorboard_logs import record_dir

    recs = _records(run_dir)
    tb = run_dir.parent / "tb"
    dnn = record_dir(tb, recs["dnn"]["key"])
    assert {"test", "train", "validation", "cost"} <= {p.name for p in dnn.iterdir()}
    train, val, test, cost = (_scalars(dnn / s) for s in ("train", "validation", "test", "cost"))
    curves = recs["dnn"]["curves"]
    assert [v for _, v in train["epoch_loss"]] == pytest.approx(curves["loss"])
    assert [s for s, _ in val["epoch_accuracy"]] == list(range(len(curves["val_accuracy"])))
    assert [v for _, v in val["epoch_loss"]] == pytest.approx(curves["val_loss"])
    assert test["accuracy"][0][1] == pytest.approx(recs["dnn"]["accuracy"])
    assert test["f1_macro"][0][1] == pytest.approx(recs["dnn"]["f1_macro"])
    assert cost["train_time_s"][0][1] == pytest.approx(recs["dnn"]["train_time_s"])
    assert cost["params"][0][1] == recs["dnn"]["params"]
    logreg = record_dir(tb, recs["logreg"]["key"])  # scikit-learn: no curves
    assert not (logreg / "train").exists()
    assert _scalars(logreg / "test")["roc_auc"][0][1] == pytest.approx(recs["logreg"]["roc_auc"])


def _accumulator(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import TENSORS, EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={TENSORS: 0})
    acc.Reload()
    return acc


def test_tensorboard_hparams_session_and_figures(run_dir):
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    from benchmarks.tracking.tensorboard_logs import record_dir

    recs = _records(run_dir)
    tb = run_dir.parent / "tb"
    for model in ("dnn", "logreg"):
        folder = record_dir(tb, recs[model]["key"])
        session = _accumulator(folder)  # the record's HParams session
        tag = metadata.SESSION_START_INFO_TAG
        assert tag in session.Tags()["tensors"]
        info = metadata.parse_session_start_info_plugin_data(
            session.SummaryMetadata(tag).plugin_data.content)
        assert info.hparams["model"].string_value == model
        assert info.hparams["seed"].number_value == 0
        assert info.group_name == recs[model]["key"]
        test = _accumulator(folder / "test")
        assert test.SummaryMetadata("confusion_matrix").plugin_data.plugin_name == "images"
        (event,) = test.Tensors("confusion_matrix")
        width, height, png = tensor_util.make_ndarray(event.tensor_proto)[:3]
        assert int(width) > 100 and int(height) > 100 and png[:8] == b"\x89PNG\r\n\x1a\n"
        assert "roc" in test.Tags()["tensors"]
    if "dropout" in recs["dnn"]["hparams"]:
        info = metadata.parse_session_start_info_plugin_data(
            _accumulator(record_dir(tb, recs["dnn"]["key"])).SummaryMetadata(
                metadata.SESSION_START_INFO_TAG).plugin_data.content)
        assert info.hparams["hp.dropout"].number_value == pytest.approx(recs["dnn"]["hparams"]["dropout"])
    experiment = _accumulator(tb)  # the dashboard's columns: every hyper-parameter and metric
    exp = metadata.parse_experiment_plugin_data(
        experiment.SummaryMetadata(metadata.EXPERIMENT_TAG).plugin_data.content)
    assert {"model", "dataset", "seed", "hp.dropout"} <= {h.name for h in exp.hparam_infos}
    assert ("test", "accuracy") in {(m.name.group, m.name.tag) for m in exp.metric_infos}


def test_live_callback_writes_each_epoch_during_training(tmp_path, monkeypatch):
    """The Keras adapter's hook: with --tensorboard, an epoch is on disk before the next starts."""
    pytest.importorskip("tensorboard", reason="needs oncobench[tensorboard] (CI installs it)")
    import keras
    import numpy as np

    from benchmarks.adapters import live
    from benchmarks.adapters.base import RunContext
    from benchmarks.tracking.tensorboard_logs import record_dir

    ctx = RunContext(tmp_path, "m|d|0|-")
    assert live.callbacks(ctx) == []  # no --tensorboard: nothing added
    seen: list[list[int]] = []

    def steps() -> list[int]:
        return [s for s, _ in _scalars(record_dir(tmp_path / "tb", ctx.key) / "train")["epoch_loss"]]

    class Look(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(steps())

    with live.live_tensorboard(tmp_path / "tb"):
        (cb,) = live.callbacks(ctx, first_epoch=0)
        later = live.callbacks(ctx, first_epoch=3)[0]  # a fine-tuning phase continues the count
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(16, 4)), np.arange(16) % 2
    model.fit(x, y, epochs=3, verbose=0, callbacks=[cb, Look()])
    assert seen == [[0], [0, 1], [0, 1, 2]]
    model.fit(x, y, epochs=1, verbose=0, callbacks=[later])
    assert sorted(steps()) == [0, 1, 2, 3]  # a second event file (TensorBoard orders by step)


def _ms(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def test_mlflow_export_to_a_sqlite_store(run_dir, tmp_path, capsys, monkeypatch):
    pytest.importorskip("mlflow", reason="needs oncobench[mlflow] (CI installs it)")
    import mlflow
    import numpy as np
    from mlflow.tracking import MlflowClient

    from datasets.base import LoadOptions
    from datasets.registry import get_dataset

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)  # the store's artifacts go to ./mlruns, MLflow's default
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["export", "mlflow", str(run_dir), "--tracking-uri", uri]) == 0
    out = capsys.readouterr().out
    assert "exported 2 record(s)" in out and f"at {uri}" in out and "2 model(s) logged" in out
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("oncobench")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"  # not the GenAI view
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("oncobench.parent") == "true"]
    children = {r.data.tags["oncobench.key"]: r for r in runs if r is not parent}
    recs = _records(run_dir)
    assert set(children) == {r["key"] for r in recs.values()}
    assert {r.data.tags["mlflow.parentRunId"] for r in children.values()} == {parent.info.run_id}
    assert parent.info.run_name == run_dir.name
    for rec in recs.values():  # the record's own start and end, not the export's
        info = children[rec["key"]].info
        assert (info.start_time, info.end_time) == (_ms(rec["started_at"]), _ms(rec["finished_at"]))
    assert parent.info.start_time == min(_ms(r["started_at"]) for r in recs.values())
    assert parent.info.end_time == max(_ms(r["finished_at"]) for r in recs.values())
    dnn = children[recs["dnn"]["key"]]
    assert dnn.info.run_name == "dnn / wisconsin / seed 0" and dnn.info.status == "FINISHED"
    assert dnn.data.metrics["accuracy"] == pytest.approx(recs["dnn"]["accuracy"])
    assert dnn.data.params["hp.dropout"] == str(recs["dnn"]["hparams"]["dropout"])
    assert dnn.data.params["model"] == "dnn" and dnn.data.params["config.epochs"] == "3"
    assert dnn.data.tags["env.tensorflow"] == recs["dnn"]["environment"]["tensorflow"]
    assert dnn.data.tags["mlflow.source.name"].startswith("benchmarks.api")
    commit = recs["dnn"]["environment"].get("git_commit")
    assert dnn.data.tags.get("mlflow.source.git.commit") == commit
    history = sorted(client.get_metric_history(dnn.info.run_id, "curve.val_loss"), key=lambda m: m.step)
    assert [m.step for m in history] == [0, 1, 2]  # one point per epoch, distinct steps and times
    assert [m.value for m in history] == pytest.approx(recs["dnn"]["curves"]["val_loss"])
    stamps = [m.timestamp for m in history]
    assert stamps == sorted(set(stamps)) and dnn.info.start_time < stamps[0] <= dnn.info.end_time
    assert [d.dataset.name for d in dnn.inputs.dataset_inputs] == ["wisconsin"]
    figures = {a.path for a in client.list_artifacts(dnn.info.run_id, "figures")}
    assert figures == {"figures/confusion_matrix.png", "figures/roc.png"}
    (ckpt,) = client.list_artifacts(dnn.info.run_id, "checkpoint")
    assert ckpt.path.endswith(".weights.h5") and ckpt.file_size > 0
    # the logged models predict the test split's class probabilities, as the run did
    ds = get_dataset("wisconsin").load(LoadOptions(seed=0))
    x = ds.test.floats()
    mlflow.set_tracking_uri(uri)
    try:
        for model, flavour in (("dnn", "keras"), ("logreg", "sklearn")):
            run = children[recs[model]["key"]]
            loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
            assert flavour in loaded.metadata.flavors
            proba = np.asarray(loaded.predict(x))
            expected = np.asarray(recs[model]["test_scores"])
            got = proba[:, -1] if proba.ndim == 2 else proba  # a sigmoid head: the positive class
            assert got.reshape(-1) == pytest.approx(expected[:, 1], abs=1e-4), model
    finally:
        mlflow.set_tracking_uri(None)
    # exporting again adds nothing; MLFLOW_TRACKING_URI is named as the URI used
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert main(["export", "mlflow", str(run_dir), "--no-models"]) == 0
    out = capsys.readouterr().out
    assert "exported 0 record(s)" in out and f"at {uri} (MLFLOW_TRACKING_URI)" in out
    assert len(client.search_runs([exp.experiment_id])) == 3


def test_missing_extras_name_what_to_install(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    assert main(["export", "mlflow", str(run_dir), "--tracking-uri", (tmp_path / "m").as_uri()]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: export mlflow needs the 'mlflow' package: pip install 'oncobench[mlflow]'"
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(OncobenchError, match=r"pip install 'oncobench\[tensorboard\]'"):
        api.run("logreg", "wisconsin", output=tmp_path / "r", tensorboard=tmp_path / "tb")
    assert not (tmp_path / "r").exists()


def test_export_of_a_missing_folder_is_one_line(tmp_path, capsys):
    uri = (tmp_path / "m").as_uri()
    assert main(["export", "mlflow", str(tmp_path / "nope"), "--tracking-uri", uri]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
