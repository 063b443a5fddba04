"""Quality metrics on many bootstrap resamples of one test set at once: the one place their
formulas live (``classification.metric_from_scores`` is the identity resample).

``metric_on_resamples(name, y, proba, idx)`` equals ``[metric_from_scores(name, y[i], proba[i])
for i in idx]`` (NaN where that raises ``ValueError``), computed from per-resample counts instead of
one Python call per resample: the confusion matrices, the ROC-AUC's rank statistic and the ECE's
bins are sums over samples, so a resample only changes how often each sample counts. The report's
intervals and paired tests draw 500-1000 resamples per (model, dataset, metric); profiling `run`
found the one-call-per-resample loop taking 40 of the 226 s of an 18-run suite. The record's own
values come from scikit-learn (``classification_metrics``); ``tests/test_metrics.py`` holds the two
equal.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15  # expected calibration error: top-label confidence in 15 equal-width bins (Guo et al. 2017)
_CHUNK = 2_000_000  # resampled indices held at once (rows x test size): bounds memory on big sets


def confidence_bins(conf: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """The equal-width bin of each top-label confidence: (lo, hi] bins, 0 in the first."""
    return np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)


def _binned(idx: np.ndarray, codes: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(B, size): per resample row, the (weighted) count of drawn samples in each code."""
    b = idx.shape[0]
    flat = (np.arange(b)[:, None] * size + codes[idx]).ravel()
    w = None if weights is None else weights[idx].ravel()
    return np.bincount(flat, weights=w, minlength=b * size).reshape(b, size).astype(float)


def _auc(idx: np.ndarray, score: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Binary ROC-AUC (Mann-Whitney, ties count one half) per resample; NaN with one class only."""
    _, group = np.unique(score, return_inverse=True)
    size = int(group.max()) + 1
    pos = _binned(idx, group, size, positive.astype(float))
    neg = _binned(idx, group, size, (~positive).astype(float))
    below = np.cumsum(neg, axis=1) - neg  # negatives with a strictly lower score
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _one_chunk(name: str, y: np.ndarray, proba: np.ndarray, idx: np.ndarray,
               pred: np.ndarray, strict: bool) -> np.ndarray:
    n, k = proba.shape
    if name == "roc_auc":
        if k == 2:
            return _auc(idx, proba[:, 1], y == 1)
        p = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
        return np.mean([_auc(idx, p[:, c], y == c) for c in range(k)], axis=0)  # NaN: a class missing
    if name == "accuracy":
        return (pred == y).astype(float)[idx].mean(axis=1)
    if name == "brier":
        return (((proba - np.eye(k)[y]) ** 2).sum(axis=1) / 2)[idx].mean(axis=1)
    if name == "ece":
        conf = proba.max(axis=1)
        bins = confidence_bins(conf)
        gap = _binned(idx, bins, ECE_BINS, (pred == y).astype(float)) - _binned(idx, bins, ECE_BINS, conf)
        return np.abs(gap).sum(axis=1) / n
    cm = _binned(idx, y * k + pred, k * k).reshape(-1, k, k)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    support, predicted = cm.sum(axis=2), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, 0.0)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        if name in ("sensitivity", "specificity"):
            if k != 2:
                raise KeyError(f"{name} is defined for binary tasks only")
            c = 1 if name == "sensitivity" else 0
            return np.where(support[:, c] > 0, recall[:, c], np.nan if strict else 0.0)
        if name == "balanced_accuracy":
            return (recall * (support > 0)).sum(axis=1) / (support > 0).sum(axis=1)
        if name == "f1_macro":
            return f1.mean(axis=1)
        if name == "f1_weighted":
            return (f1 * support).sum(axis=1) / support.sum(axis=1)
        if name == "precision_macro":
            return precision.mean(axis=1)
        if name == "recall_macro":
            return recall.mean(axis=1)
    raise KeyError(f"no metric {name!r}")


def metric_on_resamples(name: str, y_true: np.ndarray, proba: np.ndarray, idx: np.ndarray,
                        threshold: float | None = None) -> np.ndarray:
    """``name`` on each row of ``idx`` (B, n) of test-sample indices: shape (B,), NaN where the
    metric is undefined on that resample. ``threshold``: binary predictions ``proba[:, 1] >=
    threshold`` instead of the arg-max, and a missing class makes sensitivity/specificity NaN (the
    operating point at a validation threshold). KeyError for a metric not computable from scores."""
    y = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    idx = np.asarray(idx)
    if threshold is None:
        pred = proba.argmax(axis=1)
    else:
        pred = (proba[:, 1] >= threshold).astype(int)
    rows = max(1, _CHUNK // max(1, idx.shape[1]))
    return np.concatenate([_one_chunk(name, y, proba, idx[s:s + rows], pred, threshold is not None)
                           for s in range(0, len(idx), rows)]) if len(idx) else np.empty(0)
