"""Quality metrics on the test split, from true labels and class probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from benchmarks.metrics.resampled import ECE_BINS, confidence_bins, metric_on_resamples


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
    """One quality metric from labels and probabilities, in plain NumPy: the whole test set as the
    one resample of ``metric_on_resamples``, so a point estimate and its bootstrap share one
    formula. Agrees with scikit-learn's definitions (labels = every class, zero_division = 0; see
    ``classification_metrics``). ValueError where undefined (ROC-AUC with a class missing),
    KeyError for a metric not computable from scores."""
    y_true = np.asarray(y_true).astype(int)
    value = float(metric_on_resamples(name, y_true, proba, np.arange(y_true.size)[None])[0])
    if np.isnan(value):
        raise ValueError(f"{name} undefined on this sample: a class is missing from it")
    return value


def brier(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Brier score scaled to [0, 1]: half the mean squared distance between the probability vector
    and the one-hot label (the usual binary Brier score, mean (p1 - y)^2, for two classes)."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    onehot = np.eye(proba.shape[1])[y_true]
    return float(((proba - onehot) ** 2).sum(axis=1).mean() / 2)


def reliability_bins(y_true: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Top-label reliability: per non-empty equal-width confidence bin, its edges, sample count,
    mean confidence and accuracy (the points of a reliability diagram)."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    idx = confidence_bins(conf, bins)
    out = []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            out.append({"lo": b / bins, "hi": (b + 1) / bins, "n": int(sel.sum()),
                        "confidence": float(conf[sel].mean()), "accuracy": float(correct[sel].mean())})
    return out


def ece(y_true: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: sum over the top-label confidence bins of
    (bin share of samples) x |accuracy - mean confidence|."""
    n = len(np.asarray(y_true))
    bins_ = reliability_bins(y_true, proba, bins)
    return float(sum(b["n"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins_))


def sens_spec(y_true: np.ndarray, pred_pos: np.ndarray) -> tuple[float | None, float | None]:
    """Binary sensitivity (recall of class 1) and specificity (recall of class 0) of the boolean
    predictions ``pred_pos`` (True = class 1); None for a class absent from ``y_true``."""
    y = np.asarray(y_true).astype(int)
    pred = np.asarray(pred_pos, dtype=bool)
    pos, neg = y == 1, y == 0
    sens = float(pred[pos].mean()) if pos.any() else None
    spec = float((~pred[neg]).mean()) if neg.any() else None
    return sens, spec


def youden_threshold(y_true: np.ndarray, pos_score: np.ndarray) -> float | None:
    """The score threshold maximising Youden's J = sensitivity + specificity - 1 on the given
    (validation) labels and class-1 scores; None when a class is missing. Ties: the threshold
    closest to 0.5."""
    y = np.asarray(y_true).astype(int)
    if not ((y == 1).any() and (y == 0).any()):
        return None
    fpr, tpr, thr = skm.roc_curve(y, np.asarray(pos_score, dtype=float))
    keep = np.isfinite(thr)
    j = (tpr - fpr)[keep]
    thr = np.clip(thr[keep], 0.0, 1.0)
    best = np.flatnonzero(j >= j.max() - 1e-12)
    return float(thr[best[np.argmin(np.abs(thr[best] - 0.5))]])


def operating_point(y_test: np.ndarray, proba: np.ndarray, y_val: np.ndarray | None = None,
                    val_proba: np.ndarray | None = None) -> dict[str, Any]:
    """Binary tasks: sensitivity/specificity at the default threshold (the arg-max class, i.e. 0.5
    on class 1, as accuracy uses) and at the threshold Youden's J picks on the validation split
    (class-1 score >= threshold; never test); null fields otherwise."""
    out: dict[str, Any] = dict.fromkeys(("sensitivity", "specificity", "val_threshold",
                                         "sensitivity_val_threshold", "specificity_val_threshold"))
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape[1] != 2:
        return out
    out["sensitivity"], out["specificity"] = sens_spec(y_test, proba.argmax(axis=1) == 1)
    if y_val is not None and val_proba is not None and len(y_val):
        thr = youden_threshold(y_val, np.asarray(val_proba, dtype=float)[:, 1])
        if thr is not None:
            out["val_threshold"] = thr
            out["sensitivity_val_threshold"], out["specificity_val_threshold"] = sens_spec(
                y_test, proba[:, 1] >= thr)
    return out


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
    out["brier"] = brier(y_true, proba)
    out["ece"] = ece(y_true, proba)
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
