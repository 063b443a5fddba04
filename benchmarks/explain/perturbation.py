"""Model-agnostic attributions: they only call ``predict_proba``, so they explain any model.

- ``permutation`` (expression/tabular): scikit-learn's ``permutation_importance`` on a wrapper
  estimator, scored per class by the mean probability of the true class over that class's
  explained samples, so each sample gets its class's importance vector. By default only the
  top-k candidates of a cheap pre-ranking are permuted (``candidates``).
- ``occlusion`` (images, Zeiler & Fergus 2014): each square patch in turn is set to the
  baseline; a pixel's attribution is the mean drop of the true-class probability over the
  patches covering it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.core.modalities import EXPRESSION, IMAGE, TABULAR
from benchmarks.explain.methods import register_method
from benchmarks.explain.target import Explainable, Samples
from datasets.base import Dataset


class ProbaEstimator:
    """A scikit-learn style estimator over an ``Explainable`` (inputs flattened to rows)."""

    def __init__(self, target: Explainable, shape: tuple[int, ...]):
        self.target = target
        self.shape = tuple(shape)

    def fit(self, x: np.ndarray, y: np.ndarray) -> "ProbaEstimator":
        return self  # already trained

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.target.predict_proba(np.asarray(x, dtype=np.float32).reshape((-1,) + self.shape))


def per_class_probability(est: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Scorer: for each class present, the mean probability of the true class over its samples
    (one pass of ``permutation_importance`` then scores every class)."""
    y = np.asarray(y, dtype=int)
    p = est.predict_proba(x)[np.arange(len(y)), y]
    return {str(c): float(p[y == c].mean()) for c in np.unique(y)}


UNSCORED_STEP = 1e-6  # unscored features span (floor - 1e-6, floor]: ordered, never near a scored one


class SubsetEstimator(ProbaEstimator):
    """Predicts from the ``cols`` columns only; the other columns are those of ``rows`` (the
    explained samples, in the same order), so permuting a candidate leaves the rest intact."""

    def __init__(self, target: Explainable, shape: tuple[int, ...], rows: np.ndarray, cols: np.ndarray):
        super().__init__(target, shape)
        self.rows, self.cols = rows, cols

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        full = self.rows.copy()
        full[:, self.cols] = x
        return super().predict_proba(full)


@register_method("permutation", modalities=(EXPRESSION, TABULAR))
def permutation(target: Explainable, dataset: Dataset | None, samples: Samples, *, n_repeats: int = 3,
                seed: int = 0, candidates: int = 200,
                columns: list[int] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Permutation importance (scikit-learn) per class: drop of the true-class probability.

    Only the ``candidates`` features a cheap pre-ranking puts first are permuted (see
    ``candidates``); the others rank below every scored feature in pre-ranking order (values
    just under min(0, lowest score)), so deletion removes them in that order. ``candidates`` 0
    permutes every feature. ``columns``: permute exactly these (the sanity check scores the
    randomised model on the trained model's candidates, so the two maps compare feature for
    feature).
    """
    from sklearn.inspection import permutation_importance

    from benchmarks.explain.candidates import choose

    flat = samples.x.reshape(len(samples), -1).astype(np.float32)
    if columns is not None:
        cols = np.asarray(sorted(columns), dtype=int)
        facts = {"scored": "given columns", "k": int(cols.size), "indices": cols.tolist()}
    else:
        cols, facts = choose(target.model, dataset, flat.shape[1], candidates)
    est = SubsetEstimator(target, samples.x.shape[1:], flat, cols)
    res = permutation_importance(est, flat[:, cols], samples.y, scoring=per_class_probability,
                                 n_repeats=n_repeats, random_state=seed, n_jobs=1)
    out = np.zeros_like(flat, dtype=np.float64)
    for cls, bunch in res.items():
        out[np.ix_(samples.y == int(cls), cols)] = bunch.importances_mean
    rest = np.asarray(facts.get("rest_order", []), dtype=int)
    if rest.size:  # unscored: below every scored feature, in pre-ranking order (deletion order)
        floor = min(0.0, float(out[:, cols].min()))
        out[:, rest] = floor - UNSCORED_STEP * (1 + np.arange(rest.size)) / rest.size
    facts.pop("rest_order", None)
    return out.astype(np.float32).reshape(samples.x.shape), facts


def patch_size(side: int) -> int:
    """Default occlusion patch: about a seventh of the image side, at least 2 pixels."""
    return max(2, side // 7)


@register_method("occlusion", modalities=(IMAGE,))
def occlusion(target: Explainable, dataset: Dataset, samples: Samples, *, patch: int = 0,
              stride: int = 0, batch_size: int = 1024) -> np.ndarray:
    """Occlusion: drop of the true-class probability when a patch is set to the baseline.

    ``patch`` 0: ``patch_size(height)``; ``stride`` 0: the patch size (no overlap).
    """
    x, b, y = samples.x, samples.baseline, samples.y
    n, h, w = x.shape[:3]
    p = patch or patch_size(h)
    s = stride or p
    corners = [(r, c) for r in range(0, max(h - p, 0) + 1, s) for c in range(0, max(w - p, 0) + 1, s)]
    # cover the right/bottom edges when the stride does not reach them
    corners += [(r, w - p) for r in range(0, max(h - p, 0) + 1, s) if (w - p) % s]
    corners += [(h - p, c) for c in range(0, max(w - p, 0) + 1, s) if (h - p) % s]
    if (h - p) % s and (w - p) % s:
        corners.append((h - p, w - p))
    p0 = target.class_proba(x, y)
    total = np.zeros(x.shape, dtype=np.float32)
    count = np.zeros((1, h, w) + x.shape[3:], dtype=np.float32)
    per_call = max(1, batch_size // max(n, 1))
    for i in range(0, len(corners), per_call):
        chunk = corners[i:i + per_call]
        batch = np.repeat(x[None], len(chunk), axis=0)
        for j, (r, c) in enumerate(chunk):
            batch[j, :, r:r + p, c:c + p] = b[:, r:r + p, c:c + p]
        drops = p0[None] - target.class_proba(batch.reshape((-1,) + x.shape[1:]),
                                              np.tile(y, len(chunk))).reshape(len(chunk), n)
        for j, (r, c) in enumerate(chunk):
            total[:, r:r + p, c:c + p] += drops[j].reshape((n,) + (1,) * (x.ndim - 1))
            count[:, r:r + p, c:c + p] += 1
    return total / np.maximum(count, 1)
