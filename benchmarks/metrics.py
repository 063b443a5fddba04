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


def metric_from_scores(name: str, y_true: np.ndarray, proba: np.ndarray) -> float:
    """One quality metric from labels and probabilities (used by bootstrap CIs)."""
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    if name == "roc_auc":
        v = roc_auc(y_true, proba)
        if v is None:
            raise ValueError("ROC-AUC undefined on this sample")
        return v
    y_pred = proba.argmax(axis=1)
    labels = np.arange(proba.shape[1])
    kw = {"labels": labels, "zero_division": 0}
    fns = {
        "accuracy": lambda: skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y_true, y_pred),
        "f1_macro": lambda: skm.f1_score(y_true, y_pred, average="macro", **kw),
        "f1_weighted": lambda: skm.f1_score(y_true, y_pred, average="weighted", **kw),
        "precision_macro": lambda: skm.precision_score(y_true, y_pred, average="macro", **kw),
        "recall_macro": lambda: skm.recall_score(y_true, y_pred, average="macro", **kw),
    }
    if name not in fns:
        raise KeyError(f"no metric {name!r}")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fns[name]())


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Every quality field of a record from test labels and (n, k) probabilities."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    if not np.isfinite(proba).all():
        raise ValueError("model produced NaN or infinite predictions (training diverged?)")
    k = len(class_names)
    labels = np.arange(k)
    y_pred = proba.argmax(axis=1)
    out: dict[str, Any] = {
        name: metric_from_scores(name, y_true, proba)
        for name in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted",
                     "precision_macro", "recall_macro")
    }
    out["roc_auc"] = roc_auc(y_true, proba)
    out["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    f1s = skm.f1_score(y_true, y_pred, average=None, labels=labels, zero_division=0)
    out["per_class_f1"] = {name: float(f) for name, f in zip(class_names, f1s)}
    return out
