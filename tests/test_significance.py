"""Paired tests (McNemar, DeLong, paired bootstrap), Holm, and the tied-with-the-best marks."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.records import pairwise, significance
from benchmarks.records.stats import summarize

ALPHA = 0.05


def _classifier(y: np.ndarray, accuracy: float, rng: np.random.Generator) -> np.ndarray:
    """Predictions right on each sample with probability ``accuracy`` (errors independent)."""
    right = rng.random(y.size) < accuracy
    return np.where(right, y, 1 - y)


def test_mcnemar_separates_different_accuracy_not_equal():
    """200 generated test sets of 300 samples: 0.90 vs 0.75 accuracy is rejected at 0.05 every time,
    0.80 vs 0.80 at most at about the level (the exact test is conservative)."""
    rng = np.random.default_rng(0)
    diff, same = 0, 0
    for _ in range(200):
        y = rng.integers(0, 2, 300)
        a, b = _classifier(y, 0.90, rng), _classifier(y, 0.75, rng)
        diff += significance.mcnemar_exact(y, a, b).p_value < ALPHA
        a, b = _classifier(y, 0.80, rng), _classifier(y, 0.80, rng)
        same += significance.mcnemar_exact(y, a, b).p_value < ALPHA
    assert diff >= 198
    assert same <= 0.05 * 200 + 4  # type I error within binomial noise of the level


def test_mcnemar_matches_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    rng = np.random.default_rng(1)
    for _ in range(20):
        y = rng.integers(0, 2, 80)
        a, b = _classifier(y, 0.8, rng), _classifier(y, 0.7, rng)
        t = significance.mcnemar_exact(y, a, b)
        ra, rb = a == y, b == y
        table = [[int((ra & rb).sum()), int((ra & ~rb).sum())],
                 [int((~ra & rb).sum()), int((~ra & ~rb).sum())]]
        assert t.p_value == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-12)
    y = np.array([0, 1, 1, 0])
    assert significance.mcnemar_exact(y, y, y).p_value == 1.0  # no discordant pair


def _delong_direct(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DeLong et al. (1988) covariance from its definition: placement values psi(X_i, Y_j)."""
    def comps(s):
        m = (s[y == 1][:, None] > s[y == 0][None, :]) + 0.5 * (s[y == 1][:, None] == s[y == 0][None, :])
        return m.mean(axis=1), m.mean(axis=0)
    (a10, a01), (b10, b01) = comps(a), comps(b)
    return np.cov(np.vstack([a10, b10])) / a10.size + np.cov(np.vstack([a01, b01])) / a01.size


def test_delong_matches_reference_implementations():
    """AUCs, covariance and z agree to 1e-6 with the direct definition and with MLstatkit's
    independent implementation (whose p-values are aligned with R's pROC::roc.test), ties included."""
    from MLstatkit import Delong_test

    rng = np.random.default_rng(2)
    for n in (30, 157):
        y = rng.integers(0, 2, n)
        a = np.round(0.6 * y + rng.random(n), 2)  # rounded: ties
        b = np.round(0.3 * y + rng.random(n), 2)
        aucs, cov = significance.delong_components(y, [a, b])
        assert cov == pytest.approx(_delong_direct(y, a, b), abs=1e-12)
        z, p, _, _, auc_a, auc_b, info = Delong_test(y, a, b)
        assert (aucs[0], aucs[1]) == pytest.approx((auc_a, auc_b), abs=1e-9)
        var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
        assert var == pytest.approx(info["var_diff"], abs=1e-6)
        t = significance.delong(y, a, b)
        assert t.statistic == pytest.approx(-z, abs=1e-6)  # MLstatkit signs B - A
        assert t.p_value == pytest.approx(p, abs=1e-6)


def test_delong_separates_different_auc_not_equal():
    rng = np.random.default_rng(3)
    diff = same = 0
    for _ in range(100):
        y = rng.integers(0, 2, 200)
        strong, weak = y * 1.5 + rng.normal(size=200), y * 0.5 + rng.normal(size=200)
        other = y * 1.0 + rng.normal(size=200)
        diff += significance.delong(y, strong, weak).p_value < ALPHA
        same += significance.delong(y, y * 1.0 + rng.normal(size=200), other).p_value < ALPHA
    assert diff >= 97 and same <= 5 + 5


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(4)
    for _ in range(20):
        ps = rng.random(7) ** 3
        assert significance.holm(ps) == pytest.approx(list(multipletests(ps, method="holm")[1]), abs=1e-12)
    assert significance.holm([0.01, None, 0.04]) == [pytest.approx(0.02), None, pytest.approx(0.04)]


def test_paired_bootstrap_p():
    from benchmarks.metrics.classification import metric_from_scores

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    def proba(pred):
        return np.stack([1.0 - pred, pred * 1.0], axis=1) * 0.8 + 0.1
    good, bad = proba(_classifier(y, 0.9, rng)), proba(_classifier(y, 0.7, rng))
    def fn(yy, pp):
        return metric_from_scores("f1_macro", yy, pp)
    assert significance.paired_bootstrap_p(y, good, bad, fn, n_boot=300).p_value < ALPHA
    assert significance.paired_bootstrap_p(y, good, good, fn, n_boot=300).p_value == 1.0


def _records(model: str, y: np.ndarray, preds: list[np.ndarray]) -> list[dict]:
    out = []
    for seed, pred in enumerate(preds):
        p = np.stack([1.0 - pred, pred * 1.0], axis=1) * 0.9 + 0.05
        out.append({"model": model, "dataset": "gen", "seed": seed, "fold": None, "status": "ok",
                    "accuracy": float((pred == y).mean()), "test_labels": y.tolist(),
                    "test_scores": p.tolist()})
    return out


def test_tied_with_best_marks():
    """On 300 shared samples and 3 seeds: 0.92 vs 0.72 differs (no mark), 0.92 vs 0.91 is tied."""
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    by_model = {"best": _records("best", y, [_classifier(y, 0.92, rng) for _ in range(3)]),
                "close": _records("close", y, [_classifier(y, 0.91, rng) for _ in range(3)]),
                "poor": _records("poor", y, [_classifier(y, 0.72, rng) for _ in range(3)])}
    sums = {m: summarize(recs, "accuracy") for m, recs in by_model.items()}
    best, ties = pairwise.quality_ties("gen", by_model, "accuracy", sums)
    assert best == "best" and ties == {"close": True, "poor": False}
    results = pairwise.pairwise("gen", by_model, "accuracy")
    assert len(results) == 3 * 3 and all(r.test == "mcnemar" for r in results)
    assert all(r.p_holm >= r.p_value for r in results)
