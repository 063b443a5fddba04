"""Statistics over repeated runs on known inputs: mean, std, t and bootstrap CIs, grouping, formatting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from benchmarks.metrics.classification import metric_from_scores
from benchmarks.records.stats import (
    Summary,
    aggregate,
    bootstrap_interval,
    group_records,
    summarize,
    t_interval,
)
from benchmarks.records.tables import comparison_rows

T_975_DF4 = 2.7764451051977987  # Student t, 97.5th percentile, 4 degrees of freedom (tables: 2.776)


def _acc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    return metric_from_scores("accuracy", y_true, y_score)


def _record(model: str, dataset: str, seed: int, accuracy: float, *, fold: int | None = None,
            status: str = "ok", **extra) -> dict:
    rec = {"model": model, "dataset": dataset, "seed": seed, "fold": fold, "status": status,
           "accuracy": accuracy if status == "ok" else None, "device_kind": "CPU", **extra}
    if status != "ok":
        rec["error"] = "RuntimeError: boom"
    return rec


def test_t_interval_known_values():
    s = t_interval([1, 2, 3, 4, 5])
    assert s.n == 5 and s.method == "t"
    assert s.mean == pytest.approx(3.0)
    assert s.std == pytest.approx(math.sqrt(2.5))  # sample std (ddof=1): sum of squares 10 / 4
    half = T_975_DF4 * math.sqrt(2.5) / math.sqrt(5)
    assert half == pytest.approx(1.963243, abs=1e-6)  # by hand: 2.776445 * 0.707107
    assert (s.ci_low, s.ci_high) == pytest.approx((3 - half, 3 + half), rel=1e-12)
    lo, hi = sps.t.interval(0.95, df=4, loc=3.0, scale=sps.sem([1, 2, 3, 4, 5]))
    assert (s.ci_low, s.ci_high) == pytest.approx((lo, hi), rel=1e-12)


def test_t_interval_confidence_level_and_noise():
    wide, narrow = t_interval([1, 2, 3, 4, 5], 0.99), t_interval([1, 2, 3, 4, 5], 0.80)
    assert wide.ci_low < narrow.ci_low < 3 < narrow.ci_high < wide.ci_high
    half99 = sps.t.ppf(0.995, 4) * math.sqrt(2.5) / math.sqrt(5)
    assert wide.ci_high == pytest.approx(3 + half99)
    # None and non-finite values are ignored, not counted
    s = t_interval([1.0, None, 3.0, float("nan"), float("inf")])
    assert s.n == 2 and s.mean == pytest.approx(2.0) and s.std == pytest.approx(math.sqrt(2))
    assert s.ci_high - s.ci_low == pytest.approx(2 * sps.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2))


def test_t_interval_zero_spread():
    s = t_interval([0.9, 0.9, 0.9])
    assert s.std == 0.0 and s.ci_low == pytest.approx(0.9) and s.ci_high == pytest.approx(0.9)


def test_single_value_has_no_ci_and_empty_is_na():
    one = t_interval([0.75])
    assert (one.mean, one.std, one.n, one.ci_low, one.ci_high) == (0.75, None, 1, None, None)
    assert one.method == "none" and one.fmt() == "0.750"
    empty = t_interval([])
    assert empty.mean is None and empty.n == 0 and empty.method == "none"
    assert empty.fmt() == "n/a" and empty.fmt(ci=True) == "n/a"
    assert t_interval([None, float("nan")]).n == 0


def test_bootstrap_perfect_predictions_is_degenerate():
    y = np.array([0, 1] * 20)
    scores = np.eye(2)[y]
    s = bootstrap_interval(y, scores, _acc, n_boot=200, seed=0)
    assert s.method == "bootstrap" and s.n == 1
    assert (s.mean, s.ci_low, s.ci_high, s.std) == (1.0, 1.0, 1.0, 0.0)


def test_bootstrap_known_case():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 156)  # a BreastMNIST-sized test set
    pred = np.where(rng.random(156) < 0.8, y, 1 - y)  # ~80% correct
    scores = np.eye(2)[pred]
    point = float(np.mean(pred == y))
    s = bootstrap_interval(y, scores, _acc, n_boot=500, seed=3)
    assert s.mean == pytest.approx(point)
    assert s.ci_low < point < s.ci_high
    # binomial standard error sqrt(p(1-p)/n) is what the bootstrap should recover
    se = math.sqrt(point * (1 - point) / 156)
    assert s.std == pytest.approx(se, rel=0.2)
    assert s.ci_high - s.ci_low == pytest.approx(2 * 1.96 * se, rel=0.25)
    assert bootstrap_interval(y, scores, _acc, n_boot=500, seed=3) == s  # deterministic with a seed
    other = bootstrap_interval(y, scores, _acc, n_boot=500, seed=4)
    assert other.mean == s.mean and (other.ci_low, other.ci_high, other.std) != (s.ci_low, s.ci_high, s.std)
    wider = bootstrap_interval(y, scores, _acc, n_boot=500, seed=3, confidence=0.99)
    assert wider.ci_low <= s.ci_low and wider.ci_high >= s.ci_high


@pytest.mark.filterwarnings("ignore:Only one class is present")
def test_bootstrap_skips_undefined_resamples():
    y = np.array([0] * 3 + [1])  # most resamples of 4 miss class 1: ROC-AUC undefined there
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.2, 0.8]])
    s = bootstrap_interval(y, scores, lambda yt, ys: metric_from_scores("roc_auc", yt, ys), n_boot=100)
    assert s.mean == 1.0 and s.method == "bootstrap" and s.ci_low == s.ci_high == 1.0
    calls: list[int] = []

    def point_only(yt: np.ndarray, ys: np.ndarray) -> float:  # defined on the full set only
        calls.append(1)
        return 0.5 if len(calls) == 1 else float("nan")

    never = bootstrap_interval(y, scores, point_only, n_boot=50)
    assert len(calls) == 51
    assert (never.mean, never.method, never.ci_low) == (0.5, "none", None)  # < 10 usable resamples


def test_summarize_single_run_bootstraps_over_test_samples():
    y = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1] * 4
    scores = [[0.8, 0.2] if (i % 7) else [0.3, 0.7] for i in range(40)]
    acc = metric_from_scores("accuracy", np.array(y), np.array(scores))
    rec = _record("dnn", "wisconsin", 5, acc, test_labels=y, test_scores=scores, train_time_s=2.0)
    s = summarize([rec], "accuracy")
    assert s.method == "bootstrap" and s.mean == pytest.approx(acc) and s.ci_low <= acc <= s.ci_high
    assert s == bootstrap_interval(y, scores, _acc, seed=5)  # the record's seed seeds the resampling
    cost = summarize([rec], "train_time_s")  # cost metrics have no per-sample resampling
    assert (cost.mean, cost.method, cost.ci_low) == (2.0, "none", None)
    no_scores = summarize([_record("dnn", "wisconsin", 0, 0.9)], "accuracy")
    assert (no_scores.mean, no_scores.method) == (0.9, "none")


def test_summarize_over_seeds_ignores_failed_runs():
    recs = [_record("dnn", "golub", s, a) for s, a in enumerate([0.80, 0.85, 0.90])]
    recs.append(_record("dnn", "golub", 3, 0.0, status="failed"))
    s = summarize(recs, "accuracy")
    expected = t_interval([0.80, 0.85, 0.90])
    assert s == expected and s.n == 3 and s.mean == pytest.approx(0.85) and s.std == pytest.approx(0.05)
    assert summarize(recs, "roc_auc").mean is None  # metric absent everywhere


def test_group_and_aggregate_synthetic_records():
    recs = [
        _record("dnn", "golub", 0, 0.9), _record("logreg", "golub", 0, 0.7),
        _record("dnn", "golub", 1, 0.8), _record("dnn", "wisconsin", 0, 0.95),
        _record("logreg", "golub", 1, 0.0, status="failed"), _record("dnn", "golub", 2, 0.7),
    ]
    groups = group_records(recs)
    assert list(groups) == [("dnn", "golub"), ("logreg", "golub"), ("dnn", "wisconsin")]  # first seen
    assert [r["seed"] for r in groups[("dnn", "golub")]] == [0, 1, 2]
    rows = aggregate(recs, ["accuracy"])
    by = {(r["model"], r["dataset"]): r for r in rows}
    dnn = by[("dnn", "golub")]
    assert (dnn["runs"], dnn["failed"]) == (3, 0)
    assert dnn["accuracy"].mean == pytest.approx(0.8) and dnn["accuracy"].std == pytest.approx(0.1)
    assert dnn["accuracy"].ci_high - dnn["accuracy"].ci_low == pytest.approx(
        2 * sps.t.ppf(0.975, 2) * 0.1 / math.sqrt(3))
    lr = by[("logreg", "golub")]
    assert (lr["runs"], lr["failed"], lr["accuracy"].n, lr["accuracy"].mean) == (2, 1, 1, 0.7)
    per_seed = aggregate(recs, ["accuracy"], by=("model", "dataset", "seed"))
    assert len(per_seed) == len(recs)


def test_cv_folds_aggregate_into_one_row():
    folds = [0.70, 0.75, 0.80, 0.85, 0.90]
    recs = [_record("dnn", "uci_rnaseq", 0, a, fold=k) for k, a in enumerate(folds)]
    recs.append(_record("logreg", "uci_rnaseq", 0, 0.9, fold=0))
    rows = aggregate(recs, ["accuracy"])
    dnn = next(r for r in rows if r["model"] == "dnn")
    assert dnn["runs"] == 5 and dnn["accuracy"] == t_interval(folds)
    assert dnn["accuracy"].method == "t" and dnn["accuracy"].mean == pytest.approx(0.8)
    table = comparison_rows(recs)
    assert len(table) == 2
    dnn_row = next(r for r in table if r[1] == "dnn")
    assert dnn_row[2] == "5" and dnn_row[3] == t_interval(folds).fmt(3) == "0.800 ± 0.079"


def test_summary_fmt():
    s = t_interval([1, 2, 3, 4, 5])
    assert s.fmt() == "3.000 ± 1.581"
    assert s.fmt(1) == "3.0 ± 1.6"
    assert s.fmt(2, ci=True) == "3.00 [1.04, 4.96]"
    single = Summary(0.8123, None, 1, None, None, "none")
    assert single.fmt() == "0.812" and single.fmt(ci=True) == "0.812"
    boot = Summary(0.8, 0.03, 1, 0.74, 0.86, "bootstrap")
    assert boot.fmt() == "0.800" and boot.fmt(ci=True) == "0.800 [0.740, 0.860]"
    assert s.as_dict()["method"] == "t" and set(s.as_dict()) == {"mean", "std", "n", "ci_low", "ci_high",
                                                                  "method"}
