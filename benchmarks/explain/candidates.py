"""A cheap pre-ranking of features, so permutation importance scores only the top ``k``.

Permutation importance costs one prediction per feature and repeat: 7129 Golub probes x 3
repeats are 21 387 forest predictions. Most genes carry nothing, so the permutation scores the
``k`` candidates a cheap ranking on the training split puts first:

- the model's own importance when it has one: ``feature_importances_`` (impurity decrease,
  forests) or ``|coef_|`` on the standardised features (linear models, the largest over classes);
- otherwise (Keras, any other model) the ANOVA F statistic of each feature on the training split
  (the univariate ranking the recipes' ``select_features`` use).

Features outside the candidates are not scored: they rank below every scored one, in pre-ranking
order; the record says which ranking chose the candidates, ``k`` and their indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from datasets.base import Dataset


def model_importance(model: Any, n_features: int) -> tuple[np.ndarray, str] | None:
    """The model's own per-feature importance and its name, when it has one of the right size."""
    imp = getattr(model, "feature_importances_", None)
    if imp is not None and np.shape(imp) == (n_features,):
        return np.asarray(imp, dtype=np.float64), "feature_importances_"
    coef = getattr(model, "coef_", None)
    if coef is not None and np.shape(coef)[-1] == n_features:
        return np.abs(np.asarray(coef, dtype=np.float64)).reshape(-1, n_features).max(axis=0), "|coef_|"
    return None


def anova_f(ds: Dataset) -> np.ndarray:
    """ANOVA F of each feature on the training split (constant features: -1, ranked last)."""
    from benchmarks.adapters.features import anova_f as f_scores

    return f_scores(ds.train.floats().reshape(len(ds.train), -1), ds.train.y)


def prerank(model: Any, ds: Dataset | None, n_features: int) -> tuple[np.ndarray, str]:
    """Per-feature pre-ranking scores (higher first) and what they are."""
    own = model_importance(model, n_features)
    if own is not None:
        return own
    if ds is None:
        raise ValueError("permutation: a pre-ranking needs the dataset when the model has no "
                         "feature_importances_ or coef_")
    return anova_f(ds), "ANOVA F on the training split"


def choose(model: Any, ds: Dataset | None, n_features: int, k: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The candidate feature indices (ascending) and the facts for the record (``rest_order``:
    the unscored features in pre-ranking order, for the caller, not the record). ``k`` 0 or at
    least ``n_features``: every feature (full permutation)."""
    if k <= 0 or k >= n_features:
        return np.arange(n_features), {"scored": "all", "k": int(n_features), "prerank": None}
    scores, source = prerank(model, ds, n_features)
    order = np.argsort(-scores, kind="stable")
    idx = np.sort(order[:k])
    return idx, {"scored": "top-k candidates", "k": int(k), "n_features": int(n_features),
                 "prerank": source, "indices": idx.tolist(), "rest_order": order[k:]}
