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
    return {tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
            for tag in acc.Tags()["tensors"]}


def _records(run_dir: Path) -> dict[str, dict]:
    return {r["model"]: r for r in json.loads((run_dir / "results.json").read_text())["records"]}


def test_tensorboard_event_files_hold_curves_and_test_metrics(run_dir):
    from benchmarks.tracking.tensorboard_logs import record_dir

    recs = _records(run_dir)
    tb = run_dir.parent / "tb"
    dnn = record_dir(tb, recs["dnn"]["key"])
    assert sorted(p.name for p in dnn.iterdir()) == ["test", "train", "validation"]
    train, val, test = (_scalars(dnn / s) for s in ("train", "validation", "test"))
    curves = recs["dnn"]["curves"]
    assert [v for _, v in train["epoch_loss"]] == pytest.approx(curves["loss"])
    assert [s for s, _ in val["epoch_accuracy"]] == list(range(len(curves["val_accuracy"])))
    assert [v for _, v in val["epoch_loss"]] == pytest.approx(curves["val_loss"])
    assert test["accuracy"][0][1] == pytest.approx(recs["dnn"]["accuracy"])
    assert test["f1_macro"][0][1] == pytest.approx(recs["dnn"]["f1_macro"])
    logreg = record_dir(tb, recs["logreg"]["key"])  # scikit-learn: final test metrics only
    assert sorted(p.name for p in logreg.iterdir()) == ["test"]
    assert _scalars(logreg / "test")["roc_auc"][0][1] == pytest.approx(recs["logreg"]["roc_auc"])


def test_mlflow_export_to_a_file_store(run_dir, tmp_path, capsys):
    pytest.importorskip("mlflow", reason="needs oncobench[mlflow] (CI installs it)")
    from mlflow.tracking import MlflowClient

    uri = (tmp_path / "mlruns").as_uri()
    assert main(["export", "mlflow", str(run_dir), "--tracking-uri", uri]) == 0
    assert "exported 2 record(s)" in capsys.readouterr().out
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("oncobench")
    runs = {r.data.tags["oncobench.key"]: r for r in client.search_runs([exp.experiment_id])}
    recs = _records(run_dir)
    assert set(runs) == {r["key"] for r in recs.values()}
    dnn = runs[recs["dnn"]["key"]]
    assert dnn.data.metrics["accuracy"] == pytest.approx(recs["dnn"]["accuracy"])
    assert dnn.data.metrics["train_time_s"] == pytest.approx(recs["dnn"]["train_time_s"])
    assert dnn.data.params["hp.dropout"] == str(recs["dnn"]["hparams"]["dropout"])
    assert dnn.data.params["model"] == "dnn" and dnn.data.params["config.epochs"] == "3"
    assert dnn.data.tags["env.tensorflow"] == recs["dnn"]["environment"]["tensorflow"]
    assert dnn.info.status == "FINISHED"
    history = client.get_metric_history(dnn.info.run_id, "curve.val_loss")
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == \
        pytest.approx(recs["dnn"]["curves"]["val_loss"])
    (ckpt,) = client.list_artifacts(dnn.info.run_id, "checkpoint")
    assert ckpt.path.endswith(".weights.h5") and ckpt.file_size > 0
    assert not client.list_artifacts(runs[recs["logreg"]["key"]].info.run_id, "checkpoint")
    # exporting again adds nothing
    assert main(["export", "mlflow", str(run_dir), "--tracking-uri", uri]) == 0
    assert "exported 0 record(s)" in capsys.readouterr().out
    assert len(client.search_runs([exp.experiment_id])) == 2


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
