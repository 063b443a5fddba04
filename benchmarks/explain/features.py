"""Named top features per class, and Golub's signal-to-noise reference ranking."""

from __future__ import annotations

from typing import Any

import numpy as np

from datasets.base import Dataset, Split


def feature_name(ds: Dataset, i: int) -> str:
    """The name of feature ``i`` (``feature_<i>`` when the dataset has none)."""
    return ds.feature_names[i] if ds.feature_names else f"feature_{i}"


def _entry(ds: Dataset, i: int, score: float) -> dict[str, Any]:
    out: dict[str, Any] = {"index": int(i), "name": feature_name(ds, i), "score": round(float(score), 6)}
    if ds.feature_descriptions and ds.feature_descriptions[i]:
        out["description"] = ds.feature_descriptions[i]
    return out


def top_features(ds: Dataset, attributions: np.ndarray, y: np.ndarray, k: int) -> dict[str, Any]:
    """Per class: the ``k`` features with the largest mean attribution over that class's
    explained samples (evidence for the class); ``overall``: the ``k`` largest mean attribution
    over all explained samples, i.e. the features that most support the true class across
    samples (the list compared across models and seeds). Signed means let features whose
    attribution flips sign from sample to sample (noise, outlying values) cancel out."""
    a = attributions.reshape(len(attributions), -1)
    out: dict[str, Any] = {"per_class": {}}
    for c, name in enumerate(ds.class_names):
        rows = a[y == c]
        if len(rows):
            mean = rows.mean(axis=0)
            out["per_class"][name] = [_entry(ds, i, mean[i]) for i in np.argsort(-mean, kind="stable")[:k]]
    mean = a.mean(axis=0)
    out["overall"] = [_entry(ds, i, mean[i]) for i in np.argsort(-mean, kind="stable")[:k]]
    return out


def signal_to_noise(split: Split) -> np.ndarray:
    """Golub et al. (1999) P(g, c) = (mu_1 - mu_0) / (sd_0 + sd_1) per feature of a binary split."""
    x = split.floats().reshape(len(split), -1).astype(np.float64)
    a, b = x[split.y == 0], x[split.y == 1]
    sd = a.std(axis=0) + b.std(axis=0)
    return (b.mean(axis=0) - a.mean(axis=0)) / np.where(sd > 0, sd, np.inf)


def snr_overlap(ds: Dataset, top: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How many of ``top`` are among the same number of features ranked by |signal-to-noise|
    on the training split (binary expression data only, else None)."""
    if ds.num_classes != 2 or ds.modality != "expression" or not top:
        return None
    ref = set(np.argsort(-np.abs(signal_to_noise(ds.train)), kind="stable")[:len(top)].tolist())
    shared = [t["name"] for t in top if t["index"] in ref]
    return {"k": len(top), "overlap": len(shared), "shared": shared}


def jaccard(a: list[str], b: list[str]) -> float:
    """|a & b| / |a | b| of two name lists (1.0 when both are empty)."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0
