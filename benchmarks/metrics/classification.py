"""Quality metrics on the test split, from true labels and class probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm


def probabilities(raw: np.ndarray, num_classes: int) -> np.ndarray:
    """Model outputs as (n, k) class probabilities (a binary sigmoid becomes [1-p, p])."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 1 or raw.shape[-1] == 1:
        p = raw.reshape(-1)
        return np.stack([1.0 - p, p], axis=1) if num_classes == 2 else raw.reshape(-1, 1)
    return raw


def roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float | None:
    """Binary: AUC of class 1's score; multi-class: macro one-vs-rest. None if undefined."""
    k = proba.shape[1]
    present = np.unique(y_true)
    try:
        if k == 2:
            return float(skm.roc_auc_score(y_true, proba[:, 1]))
        if present.size < k:  # OvR needs every class in the test set
            return None
        p = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
        return float(skm.roc_auc_score(y_true, p, multi_class="ovr", average="macro",
                                       labels=np.arange(k)))
    except ValueError:
        return None


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def _binary_auc(pos_scores: np.ndarray, is_pos: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic with average ranks for ties."""
    from scipy.stats import rankdata

    n_pos = int(is_pos.sum())
    n_neg = is_pos.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC undefined: one class only")
    ranks = rankdata(pos_scores)
    return float((ranks[is_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def metric_from_scores(name: str, y_true: np.ndarray, proba: np.ndarray) -> float:
    """One quality metric from labels and probabilities, in plain NumPy.

    Fast enough for 1000 bootstrap resamples; agrees with scikit-learn's definitions
    (labels = every class, zero_division = 0; see ``classification_metrics``).
    """
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    k = proba.shape[1]
    if name == "roc_auc":
        if k == 2:
            return _binary_auc(proba[:, 1], y_true == 1)
        if np.unique(y_true).size < k:
            raise ValueError("ROC-AUC undefined: a class is missing from the sample")
        p = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-12, None)
        return float(np.mean([_binary_auc(p[:, c], y_true == c) for c in range(k)]))
    cm = _confusion(y_true, proba.argmax(axis=1), k)
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, 0.0)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if name == "accuracy":
        return float(tp.sum() / cm.sum())
    if name == "balanced_accuracy":
        return float(recall[support > 0].mean())
    if name == "f1_macro":
        return float(f1.mean())
    if name == "f1_weighted":
        return float((f1 * support).sum() / support.sum())
    if name == "precision_macro":
        return float(precision.mean())
    if name == "recall_macro":
        return float(recall.mean())
    raise KeyError(f"no metric {name!r}")


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Every quality field of a record from test labels and (n, k) probabilities."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    if not np.isfinite(proba).all():
        raise ValueError("model produced NaN or infinite predictions (training diverged?)")
    k = len(class_names)
    labels = np.arange(k)
    y_pred = proba.argmax(axis=1)
    kw = {"labels": labels, "zero_division": 0}
    out: dict[str, Any] = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(skm.f1_score(y_true, y_pred, average="macro", **kw)),
        "f1_weighted": float(skm.f1_score(y_true, y_pred, average="weighted", **kw)),
        "precision_macro": float(skm.precision_score(y_true, y_pred, average="macro", **kw)),
        "recall_macro": float(skm.recall_score(y_true, y_pred, average="macro", **kw)),
    }
    out["roc_auc"] = roc_auc(y_true, proba)
    out["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    f1s = skm.f1_score(y_true, y_pred, average=None, labels=labels, zero_division=0)
    out["per_class_f1"] = {name: float(f) for name, f in zip(class_names, f1s)}
    return out


# A run is degenerate when this share of its test predictions is one class ...
DEGENERATE_SHARE = 0.95
# ... or its balanced accuracy is within this margin of chance (1 / number of classes).
CHANCE_MARGIN = 0.05


def degenerate_reason(y_true: np.ndarray, proba: np.ndarray, class_names: list[str]) -> str | None:
    """Why a run's test predictions are degenerate (almost all one class, or balanced accuracy
    at chance), or None when they are not."""
    y_true = np.asarray(y_true).astype(int)
    k = len(class_names)
    y_pred = np.asarray(proba).argmax(axis=1)
    if y_pred.size == 0:
        return None
    counts = np.bincount(y_pred, minlength=k)
    top = int(counts.argmax())
    share = counts[top] / y_pred.size
    if share >= DEGENERATE_SHARE:
        return f"{share:.0%} of test predictions are {class_names[top]!r}"
    bal = float(skm.balanced_accuracy_score(y_true, y_pred))
    if bal <= 1 / k + CHANCE_MARGIN:
        return f"balanced accuracy {bal:.3f} is at chance (1/{k} = {1 / k:.3f})"
    return None
