"""Degenerate runs are flagged in records and marked and counted in every table and report;
the tables show the delta to the best published figure, labelled as published."""

from __future__ import annotations

import numpy as np

from benchmarks.metrics.classification import degenerate_reason
from benchmarks.records.tables import DEGENERATE_MARK, comparison_rows, comparison_table, published_best
from benchmarks.report.analysis import dataset_section
from benchmarks.report.content import comparison_table as report_table
from benchmarks.report.content import runs_table
from benchmarks.report.model import Report

NAMES = ["malignant", "normal, benign"]


def _proba(pred: np.ndarray) -> np.ndarray:
    return np.eye(2)[pred] * 0.8 + 0.1


def test_degenerate_reason():
    y = np.array([0] * 27 + [1] * 73)
    all_one = degenerate_reason(y, _proba(np.ones(100, int)), NAMES)
    assert "100% of test predictions are 'normal, benign'" in all_one
    assert "96%" in degenerate_reason(y, _proba(np.r_[np.zeros(4, int), np.ones(96, int)]), NAMES)
    chance = np.r_[np.zeros(14, int), np.ones(13, int), np.zeros(36, int), np.ones(37, int)]
    assert "at chance" in degenerate_reason(y, _proba(chance), NAMES)
    assert degenerate_reason(y, _proba(y), NAMES) is None


def _rec(model: str, seed: int, acc: float, degenerate: str | None, tuned=None) -> dict:
    return {"model": model, "dataset": "breastmnist", "seed": seed, "fold": None, "status": "ok",
            "accuracy": acc, "roc_auc": 0.5 + acc / 4, "device_kind": "CPU", "degenerate": degenerate,
            "tuned": tuned, "class_names": NAMES, "train_time_s": 1.0, "epochs": 3}


RECORDS = [_rec("cnn", 0, 0.85, None), _rec("cnn", 1, 0.731, "100% of test predictions are 'x'"),
           _rec("cnn", 2, 0.86, None), _rec("logreg", 0, 0.80, None), _rec("logreg", 1, 0.82, None)]


def test_summary_table_marks_and_counts_degenerate_runs():
    rows = {r[1]: r for r in comparison_rows(RECORDS)}
    assert rows["cnn"][3].endswith(DEGENERATE_MARK) and "1/3" in rows["cnn"]
    assert not rows["logreg"][3].endswith(DEGENERATE_MARK) and rows["logreg"][-4] == "0"
    text = comparison_table(RECORDS)
    assert "degenerate" in text and "published" in text


def test_published_delta_is_against_the_best_published_figure():
    best = published_best("breastmnist")
    assert best["accuracy"] == (0.863, "ResNet-18 (28)")  # MedMNIST v2 Table 3
    assert best["roc_auc"] == (0.919, "Google AutoML Vision")
    logreg = next(r for r in comparison_rows(RECORDS) if r[1] == "logreg")
    assert logreg[-3] == f"{0.81 - 0.863:+.3f} vs 0.863"
    assert published_best("no_such_dataset") == {}


def test_report_marks_degenerate_rows_and_shows_tuned_beside_default():
    tuned = {"hparams": {"dropout": 0.3}, "recipe": {}, "learning_rate": 1e-3, "source": "t.json"}
    recs = RECORDS + [_rec("cnn", 0, 0.87, None, tuned=tuned)]
    sec = dataset_section("breastmnist", recs)
    headers, rows = report_table(sec)
    by_model = {r[0][0]: r for r in rows}
    assert set(by_model) == {"cnn", "cnn (tuned)", "logreg"}
    assert "1 degenerate" in by_model["cnn"][1][0]
    assert any(c[0].endswith(DEGENERATE_MARK) for c in by_model["cnn"][2:])
    assert not any(c[0].endswith(DEGENERATE_MARK) for c in by_model["cnn (tuned)"][2:])
    assert any("published 0.863" in h for h in headers)
    report = Report("r", {}, None, "now", recs, [sec], {}, {})
    _, run_rows = runs_table(report)
    assert sum(1 for r in run_rows if r[-1][0].startswith(DEGENERATE_MARK)) == 1
