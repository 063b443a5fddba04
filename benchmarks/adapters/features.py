"""Supervised feature selection fitted on the training split only (recipes' ``select_features``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from datasets.base import Dataset, Split


def anova_f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The ANOVA F statistic of each column of ``x`` (n, features) for labels ``y``; constant
    features (F undefined) get -1, so any ranking puts them last."""
    import warnings

    from sklearn.feature_selection import f_classif

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f, _ = f_classif(x, y)
    return np.nan_to_num(f, nan=-1.0)


def kept_features(ds: Dataset, k: int) -> np.ndarray | None:
    """Ascending indices of the ``k`` features with the highest ANOVA F statistic on the training
    split; None when nothing is dropped (image data, ``k`` 0 or ``k`` >= the number of features)."""
    if k <= 0 or ds.train.x.ndim != 2 or k >= ds.train.x.shape[1]:
        return None
    return np.sort(np.argsort(anova_f(ds.train.x, ds.train.y))[::-1][:k])


def select_features(ds: Dataset, k: int) -> tuple[Dataset, dict[str, Any] | None]:
    """``ds`` keeping the ``k`` features with the highest ANOVA F statistic on the training split
    (the validation and test splits are never looked at). Image data, ``k`` 0 or ``k`` >= the
    number of features return ``ds`` unchanged and None."""
    keep = kept_features(ds, k)
    if keep is None:
        return ds, None
    info = {"method": "anova_f", "k": int(k), "n_features_in": int(ds.train.x.shape[1])}
    return keep_columns(ds, keep), info


def keep_columns(ds: Dataset, keep: np.ndarray) -> Dataset:
    """``ds`` with only the ``keep`` columns, names and descriptions kept aligned."""

    def cut(s: Split) -> Split:
        return Split(np.ascontiguousarray(s.x[:, keep]), s.y)

    names = {k: [v[i] for i in keep] for k in ("feature_names", "feature_descriptions")
             if (v := getattr(ds, k, None)) is not None}  # keep names aligned with the columns
    return replace(ds, train=cut(ds.train), val=cut(ds.val), test=cut(ds.test), **names)
