"""The NumPy metrics used for bootstrap CIs agree with scikit-learn's record values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from benchmarks.metrics.classification import (
    brier,
    classification_metrics,
    ece,
    metric_from_scores,
    probabilities,
    reliability_bins,
    sens_spec,
)


@pytest.mark.parametrize("k", [2, 4])
def test_fast_metrics_match_sklearn(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 200)
    y[:k] = np.arange(k)
    proba = rng.dirichlet(np.ones(k), 200)
    proba[np.arange(200), y] += rng.random(200)  # some signal
    proba = np.round(proba / proba.sum(1, keepdims=True), 2)  # ties, as real scores have
    ref = classification_metrics(y, proba, [f"c{i}" for i in range(k)])
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro",
                 "recall_macro", "roc_auc"):
        assert metric_from_scores(name, y, proba) == pytest.approx(ref[name], abs=1e-12), name
    # Brier against scikit-learn's binary score; ECE against the reliability diagram's bins
    assert metric_from_scores("brier", y, proba) == pytest.approx(ref["brier"], abs=1e-12)
    if k == 2:
        assert ref["brier"] == pytest.approx(skm.brier_score_loss(y, proba[:, 1]), abs=1e-12)
        sens, spec = sens_spec(y, proba.argmax(axis=1) == 1)
        assert metric_from_scores("sensitivity", y, proba) == pytest.approx(sens, abs=1e-12)
        assert metric_from_scores("specificity", y, proba) == pytest.approx(spec, abs=1e-12)
        assert sens == pytest.approx(skm.recall_score(y, proba.argmax(axis=1)), abs=1e-12)
    else:
        with pytest.raises(KeyError, match="binary"):
            metric_from_scores("sensitivity", y, proba)
    bins = reliability_bins(y, proba)
    by_hand = sum(b["n"] / len(y) * abs(b["accuracy"] - b["confidence"]) for b in bins)
    assert metric_from_scores("ece", y, proba) == pytest.approx(by_hand, abs=1e-12)
    assert ece(y, proba) == pytest.approx(by_hand, abs=1e-12) and brier(y, proba) == ref["brier"]


def test_undefined_and_unknown_metrics():
    y = np.array([0, 0, 1])
    p = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    with pytest.raises(ValueError, match="roc_auc undefined"):  # class 2 missing: OvR undefined
        metric_from_scores("roc_auc", y, p)
    with pytest.raises(ValueError, match="undefined"):
        metric_from_scores("roc_auc", np.array([1, 1]), np.array([[0.4, 0.6], [0.2, 0.8]]))
    with pytest.raises(KeyError, match="no metric"):
        metric_from_scores("kappa", y, p)
    assert metric_from_scores("accuracy", y, p) == pytest.approx(2 / 3)


def test_binary_sigmoid_becomes_two_columns_and_nan_is_refused():
    p = probabilities(np.array([[0.2], [0.9]]), 2)
    np.testing.assert_allclose(p, [[0.8, 0.2], [0.1, 0.9]])
    with pytest.raises(ValueError, match="NaN"):
        classification_metrics(np.array([0, 1]), np.array([[np.nan, 1.0], [0.5, 0.5]]), ["a", "b"])
