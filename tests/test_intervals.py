"""Intervals that match the quantity, calibration metrics and the validation-chosen threshold."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from benchmarks.metrics import catalogue
from benchmarks.metrics.classification import (
    brier,
    ece,
    metric_from_scores,
    operating_point,
    reliability_bins,
    youden_threshold,
)
from benchmarks.records.stats import cost_interval, quality_bootstrap, summarize, t_interval
from benchmarks.records.tables import comparison_rows, comparison_table, write_summary

INTERVAL = re.compile(r"(-?[\d,.]+) \[(-?[\d,.]+), (-?[\d,.]+)\]")


def _rec(model: str, dataset: str, seed: int, y: np.ndarray, proba: np.ndarray, **cost) -> dict:
    from benchmarks.metrics.classification import classification_metrics

    return {"model": model, "dataset": dataset, "seed": seed, "fold": None, "status": "ok",
            **classification_metrics(y, proba, ["a", "b"]), "test_labels": y.tolist(),
            "test_scores": proba.tolist(), **cost}


def _wild_records() -> list[dict]:
    """Three seeds of a near-perfect model and of a deterministic one, with costs as noisy as the
    issue's: train time 0.01..0.9 s, throughput 100..3000 samples/s (Student t goes below zero)."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    recs = []
    for seed in range(3):
        sharp = np.where(rng.random(60) < 0.98, y, 1 - y)  # ~98% right: t intervals cross 1
        p = np.stack([1 - sharp, sharp], axis=1) * 0.96 + 0.02
        costs = {"train_time_s": (0.01, 0.1, 0.9)[seed], "train_samples_per_s": (100.0, 1000.0, 3000.0)[seed],
                 "inference_samples_per_s": (3e3, 1e5, 3e5)[seed], "latency_ms_p50": (0.1, 2.0, 9.0)[seed]}
        recs.append(_rec("sharp", "gen", seed, y, p, **costs))
        fixed = np.clip(0.5 + 0.3 * (y - 0.5) + 0.25 * np.sin(np.arange(60)), 0.01, 0.99)  # same every seed
        recs.append(_rec("fixed", "gen", seed, y, np.stack([1 - fixed, fixed], axis=1), **costs))
    return recs


UNIT_OF_HEADER = {m.header: m.unit for m in catalogue.METRICS.values()}


def _check_cell(cell: str, unit: str | None) -> int:
    """``v [lo, hi]`` cells: lo <= v <= hi and lo >= 0 (every quantity here is non-negative);
    hi <= 1 for fractions. Returns how many intervals it checked (0 or 1)."""
    m = INTERVAL.search(cell)
    if not m:
        return 0
    v, lo, hi = (float(s.replace(",", "")) for s in m.groups())
    assert 0 <= lo <= v <= hi, cell
    if unit == "fraction":
        assert hi <= 1, cell
    return 1


def _check_intervals(text: str) -> int:
    """Every Markdown or plain table in ``text``: each cell checked by its column's unit."""
    n = 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|-"):
            units = [UNIT_OF_HEADER.get(h.strip()) for h in line.strip("|").split("|")]
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                n += sum(_check_cell(c, u) for c, u in zip(row.strip("|").split("|"), units))
    return n


def test_t_interval_would_be_impossible_and_ours_are_not():
    recs = _wild_records()
    sharp = [r for r in recs if r["model"] == "sharp"]
    assert t_interval([r["train_time_s"] for r in sharp]).ci_low < 0  # the complaint
    assert t_interval([r["train_samples_per_s"] for r in sharp]).ci_low < 0
    for metric in ("train_time_s", "train_samples_per_s", "inference_samples_per_s", "latency_ms_p50"):
        s = summarize(sharp, metric)
        assert s.method == "log-t" and 0 < s.ci_low <= s.mean <= s.ci_high
    for metric in catalogue.names("quality"):
        s = summarize(sharp, metric)
        if s.mean is not None and s.ci_low is not None:
            assert 0 <= s.ci_low <= s.mean <= s.ci_high <= 1, metric


def test_no_interval_outside_its_range_in_tables_and_summary(tmp_path):
    recs = _wild_records()
    assert len(comparison_rows(recs)) == 2
    assert _check_intervals(comparison_table(recs, "github")) == 2 * 9  # every metric has an interval
    write_summary(recs, {"command": "test"}, tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text()
    assert _check_intervals(text) >= 18
    assert "log-t" in text and "seed+test bootstrap" in text  # the caption says how


def test_cost_interval_methods():
    assert cost_interval([2.0, 3.0]).method == "range"
    s = cost_interval([2.0, 3.0])
    assert (s.ci_low, s.ci_high) == (2.0, 3.0)
    s = cost_interval([0.0, 1.0, 2.0])  # a zero: no log scale, the range
    assert s.method == "range" and s.ci_low == 0.0
    s = cost_interval([1.0, 10.0, 100.0])
    assert s.method == "log-t" and s.mean == pytest.approx(10.0) and s.ci_low > 0
    assert cost_interval([5.0]).ci_low is None and cost_interval([]).mean is None


def test_deterministic_model_on_breastmnist_has_test_sampling_width():
    """logreg on the real BreastMNIST split gives the same scores on every seed; the interval still
    has the width of sampling 156 test images (Student t over seeds would be [0.8xx, 0.8xx])."""
    from sklearn.linear_model import LogisticRegression

    from datasets.registry import get_dataset

    ds = get_dataset("breastmnist").load()
    x = ds.train.floats().reshape(len(ds.train), -1)
    est = LogisticRegression(max_iter=300).fit(x, ds.train.y)
    proba = est.predict_proba(ds.test.floats().reshape(len(ds.test), -1))
    recs = [_rec("logreg", "breastmnist", seed, ds.test.y, proba) for seed in range(3)]
    t = t_interval([r["accuracy"] for r in recs])
    assert t.ci_high - t.ci_low == 0
    s = summarize(recs, "accuracy")
    assert s.method == "seed+test bootstrap" and len(ds.test) == 156
    assert 0 < s.ci_low < s.mean < s.ci_high < 1
    # about the binomial width of 156 samples: 2 x 1.96 x sqrt(p (1 - p) / 156)
    binomial = 2 * 1.96 * math.sqrt(s.mean * (1 - s.mean) / 156)
    assert 0.7 * binomial < s.ci_high - s.ci_low < 1.3 * binomial


def test_two_level_bootstrap_counts_seed_spread():
    """Runs that disagree widen the interval beyond one run's test-sampling width."""
    y = np.arange(200) % 2
    good = np.stack([1 - y, y], axis=1) * 0.8 + 0.1
    bad = 1 - good
    one = quality_bootstrap([(y, good)] * 3, "accuracy")
    mixed = quality_bootstrap([(y, good), (y, good), (y, bad)], "accuracy")
    assert one == (1.0, 1.0)  # always right: no width from the test samples either
    assert mixed[0] == pytest.approx(0.0) and mixed[1] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    y2 = rng.integers(0, 2, 150)
    p2 = np.clip(0.5 + 0.4 * (y2 - 0.5) + rng.normal(0, 0.3, 150), 0.01, 0.99)
    runs = [(y2, np.stack([1 - p2, p2], axis=1))] * 2
    for metric in ("accuracy", "roc_auc", "f1_macro", "brier", "ece", "balanced_accuracy"):
        lo, hi = quality_bootstrap(runs, metric)
        point = metric_from_scores(metric, y2, runs[0][1])
        assert 0 <= lo < hi <= 1, metric
        assert lo <= point + 0.02 and point - 0.02 <= hi, metric


def test_brier_and_ece():
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    assert brier(y, p) == pytest.approx(np.mean([0.01, 0.04, 0.16, 0.49]))  # binary: mean (p1 - y)^2
    from sklearn.metrics import brier_score_loss

    assert brier(y, p) == pytest.approx(brier_score_loss(y, p[:, 1]))
    # ECE by hand, 15 bins: confidences 0.9, 0.8, 0.6, 0.7 each alone in a bin; right, right, right, wrong
    assert ece(y, p) == pytest.approx((0.1 + 0.2 + 0.4 + 0.7) / 4)
    bins = reliability_bins(y, p)
    assert sum(b["n"] for b in bins) == 4 and all(b["lo"] < b["confidence"] <= b["hi"] for b in bins)
    perfect = np.eye(2)[y]
    assert brier(y, perfect) == 0 and ece(y, perfect) == 0
    three = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    expected = ((0.09 + 0.04 + 0.01) + (0.01 + 0.01 + 0.04)) / 2 / 2
    assert brier(np.array([0, 2]), three) == pytest.approx(expected)


def test_youden_threshold_on_validation_only():
    rng = np.random.default_rng(2)
    y_val = rng.integers(0, 2, 300)
    s_val = np.clip(0.3 + 0.3 * y_val + rng.normal(0, 0.1, 300), 0, 1)  # classes split near 0.45
    thr = youden_threshold(y_val, s_val)
    assert 0.35 < thr < 0.55
    y_test = rng.integers(0, 2, 200)
    s_test = np.clip(0.3 + 0.3 * y_test + rng.normal(0, 0.1, 200), 0, 1)
    proba = np.stack([1 - s_test, s_test], axis=1)
    out = operating_point(y_test, proba, y_val, np.stack([1 - s_val, s_val], axis=1))
    assert out["val_threshold"] == thr
    # the default 0.5 threshold misses positives; the validation threshold recovers them
    assert out["sensitivity_val_threshold"] > out["sensitivity"] + 0.05
    assert out["specificity"] == pytest.approx(float((s_test[y_test == 0] < 0.5).mean()))
    # a different validation set moves the threshold: it is never fitted on test
    moved = operating_point(y_test, proba, y_val, np.stack([1 - s_val / 2, s_val / 2], axis=1))
    assert moved["val_threshold"] == pytest.approx(youden_threshold(y_val, s_val / 2))
    none = operating_point(y_test, proba)
    assert none["sensitivity"] is not None and none["val_threshold"] is None
    assert operating_point(np.array([0, 1, 2]), np.eye(3))["sensitivity"] is None  # multi-class


def test_catalogue_has_the_new_metrics():
    for name in ("brier", "ece"):
        m = catalogue.get(name)
        assert m.kind == "quality" and not m.higher_is_better and m.unit == "fraction"
    assert "15 equal-width bins" in catalogue.get("ece").meaning


def test_sensitivity_at_validation_threshold_gets_test_sampling_width():
    """Sensitivity at each run's own validation threshold: a deterministic model's interval comes
    from resampling the test set at that threshold, not from (zero) seed spread."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 150)
    s = np.clip(0.3 + 0.3 * y + rng.normal(0, 0.15, 150), 0, 1)
    proba = np.stack([1 - s, s], axis=1)
    recs = [{**_rec("m", "d", seed, y, proba), **operating_point(y, proba, y[::-1], proba[::-1])}
            for seed in range(3)]
    for metric in ("sensitivity_val_threshold", "specificity_val_threshold"):
        summary = summarize(recs, metric)
        assert summary.method == "seed+test bootstrap"
        assert 0 <= summary.ci_low < summary.mean < summary.ci_high <= 1, metric
