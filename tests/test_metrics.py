"""The NumPy metrics used for bootstrap CIs agree with scikit-learn's record values."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.metrics.classification import classification_metrics, metric_from_scores, probabilities


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


def test_binary_sigmoid_becomes_two_columns_and_nan_is_refused():
    p = probabilities(np.array([[0.2], [0.9]]), 2)
    np.testing.assert_allclose(p, [[0.8, 0.2], [0.1, 0.9]])
    with pytest.raises(ValueError, match="NaN"):
        classification_metrics(np.array([0, 1]), np.array([[np.nan, 1.0], [0.5, 0.5]]), ["a", "b"])
