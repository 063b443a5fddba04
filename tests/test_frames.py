"""``api.summary`` (mean and interval per model x dataset, hyper-parameters as columns) and the
columns of results.csv (none that every record leaves empty)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from benchmarks import api
from benchmarks.core.errors import OncobenchError
from benchmarks.records.frames import kept_columns
from benchmarks.records.results import write_csv

CI_BASELINE = Path(__file__).resolve().parent.parent / "results" / "baselines" / "ci.json"


def test_summary_has_mean_interval_and_hyperparameters_per_pair():
    records = json.loads(CI_BASELINE.read_text(encoding="utf-8"))["records"]
    df = api.summary(CI_BASELINE)
    pairs = {(r["model"], r["dataset"]) for r in records}
    assert len(df) == len(pairs) and set(zip(df["model"], df["dataset"])) == pairs
    row = df[(df["model"] == "dnn") & (df["dataset"] == "wisconsin")].iloc[0]
    accs = [r["accuracy"] for r in records if (r["model"], r["dataset"]) == ("dnn", "wisconsin")]
    assert row["runs"] == 3 and row["profile"] == "ci"
    assert row["accuracy"] == pytest.approx(sum(accs) / 3)
    assert row["accuracy_ci_low"] < row["accuracy"] < row["accuracy_ci_high"]
    hp = next(r["hparams"] for r in records if r["model"] == "dnn")
    assert row["hp.dropout"] == hp["dropout"] and row["hp.hidden_units"] == str(hp["hidden_units"])
    logreg = df[df["model"] == "logreg"].iloc[0]
    assert logreg["hp.dropout"] != logreg["hp.dropout"]  # NaN: logreg has no dropout
    assert list(api.summary(CI_BASELINE, metrics=["roc_auc"]).columns[4:9]) == [
        "profile", "roc_auc", "roc_auc_std", "roc_auc_ci_low", "roc_auc_ci_high"]
    with pytest.raises(OncobenchError, match="unknown metric"):
        api.summary(CI_BASELINE, metrics=["acc"])


def test_csv_leaves_out_columns_no_record_fills(tmp_path):
    records = json.loads(CI_BASELINE.read_text(encoding="utf-8"))["records"][:3]
    records = [{**r, "federated": None, "explain_time_s": None, "note": ""} for r in records]
    records[1]["explain_time_s"] = 1.5  # one value keeps the column
    write_csv(records, tmp_path / "results.csv")
    with open(tmp_path / "results.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert "explain_time_s" in header and "accuracy" in header and "environment.cpu_count" in header
    assert "federated" not in header and "note" not in header
    assert kept_columns([{"a": None, "b": 0}, {"a": "", "b": None}]) == ["b"]  # 0 is a value
    assert list(api.records_frame(records).columns) == header  # the DataFrame has the CSV's columns
