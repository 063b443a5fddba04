"""All resamples at once (benchmarks.metrics.resampled) equal one metric_from_scores call per resample."""

import numpy as np
import pytest

from benchmarks.metrics.classification import metric_from_scores, sens_spec
from benchmarks.metrics.resampled import metric_on_resamples

NAMES = ("roc_auc", "accuracy", "brier", "ece", "balanced_accuracy", "f1_macro", "f1_weighted",
         "precision_macro", "recall_macro", "sensitivity", "specificity")


def _one_by_one(name, y, p, idx):
    out = []
    for i in idx:
        try:
            out.append(metric_from_scores(name, y[i], p[i]))
        except ValueError:  # undefined on this resample (a class missing)
            out.append(np.nan)
    return np.array(out)


@pytest.mark.parametrize("k,n", [(2, 156), (2, 10), (4, 60), (3, 7)])
@pytest.mark.parametrize("name", NAMES)
def test_every_resample_equals_the_per_resample_metric(name, k, n):
    rng = np.random.default_rng(k * 100 + n)
    y = rng.integers(0, k, n)
    p = np.round(rng.dirichlet(np.ones(k), n), 1) + 1e-3  # rounded: tied scores
    p /= p.sum(axis=1, keepdims=True)
    idx = rng.integers(0, n, (200, n))
    try:
        fast = metric_on_resamples(name, y, p, idx)
    except KeyError:  # sensitivity/specificity of a multi-class task: both refuse it
        with pytest.raises(KeyError):
            metric_from_scores(name, y, p)
        return
    slow = _one_by_one(name, y, p, idx)
    np.testing.assert_allclose(fast, slow, atol=1e-12)  # NaN in the same places too
    if n <= 10 and name == "roc_auc":
        assert np.isnan(fast).any()  # small sets: some resamples lack a class


def test_chunks_do_not_change_the_answer(monkeypatch):
    import benchmarks.metrics.resampled as resampled

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 50), rng.dirichlet(np.ones(3), 50)
    idx = rng.integers(0, 50, (101, 50))
    whole = resampled.metric_on_resamples("roc_auc", y, p, idx)
    monkeypatch.setattr(resampled, "_CHUNK", 50 * 7)  # 7 rows at a time
    np.testing.assert_array_equal(resampled.metric_on_resamples("roc_auc", y, p, idx), whole)


def test_a_threshold_scores_its_own_predictions_and_a_missing_class_is_undefined():
    rng = np.random.default_rng(1)
    y = np.array([1, 0] + [0] * 10)  # two positives in 12: many resamples have none
    y[2] = 1
    p1 = rng.random(12)
    p = np.stack([1 - p1, p1], axis=1)
    idx = rng.integers(0, 12, (300, 12))
    for name, which in (("sensitivity", 0), ("specificity", 1)):
        fast = metric_on_resamples(name, y, p, idx, threshold=0.3)
        slow = [sens_spec(y[i], p1[i] >= 0.3)[which] for i in idx]
        slow = np.array([np.nan if v is None else v for v in slow])
        np.testing.assert_allclose(fast, slow, atol=1e-12)
        assert np.isnan(fast).any() == (name == "sensitivity")  # resamples without a positive
