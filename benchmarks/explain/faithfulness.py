"""Faithfulness: does removing what a method calls important hurt the model more than
removing features at random? (deletion curves; Samek et al. 2017, Petsiuk et al. 2018)

Units are features (expression/tabular) or pixel positions (images: attributions summed over
channels). For k = 0, f, 2f, ... up to ``max_fraction`` of the units, the k top-attributed
units of each sample are set to its baseline and the mean true-class probability is measured;
random removal uses seeded random orders. The area over a curve is the mean drop
p(0) - p(k) over the steps k > 0; ``faithfulness`` = area(attributed) - area(random):
0 means no better than random, higher is better (at most 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.explain.target import Explainable, Samples


def unit_scores(attributions: np.ndarray, modality: str) -> np.ndarray:
    """(n, units): per feature, or per pixel position (channels summed) for images."""
    if modality == "image" and attributions.ndim == 4:
        attributions = attributions.sum(axis=-1)
    return attributions.reshape(len(attributions), -1)


def _removed(samples: Samples, order: np.ndarray, k: int, image: bool) -> np.ndarray:
    """Copies of the samples with their first ``k`` units (per ``order``) set to the baseline."""
    n = len(samples)
    x = samples.x.copy()
    if k == 0:
        return x
    rows = np.repeat(np.arange(n), k)
    cols = order[:, :k].reshape(-1)
    if image:
        h, w = x.shape[1:3]
        r, c = np.divmod(cols, w)
        x[rows, r, c] = samples.baseline[rows, r, c]
    else:
        xf, bf = x.reshape(n, -1), samples.baseline.reshape(n, -1)
        xf[rows, cols] = bf[rows, cols]
    return x


def deletion_curve(target: Explainable, samples: Samples, order: np.ndarray, ks: list[int],
                   image: bool) -> np.ndarray:
    """Mean true-class probability after removing the first k units of ``order``, per k."""
    return np.array([float(np.mean(target.class_proba(_removed(samples, order, k, image), samples.y)))
                     for k in ks])


def faithfulness(target: Explainable, samples: Samples, attributions: np.ndarray, modality: str, *,
                 steps: int = 10, max_fraction: float = 0.2, random_repeats: int = 3,
                 seed: int = 0) -> dict[str, Any]:
    """Deletion curves of the attributed and of random orders, their areas and the difference."""
    scores = unit_scores(attributions, modality)
    units = scores.shape[1]
    ks = sorted({int(round(units * max_fraction * i / steps)) for i in range(steps + 1)})
    image = modality == "image"
    order = np.argsort(-scores, axis=1, kind="stable")
    curve = deletion_curve(target, samples, order, ks, image)
    rng = np.random.default_rng(seed)
    rand = np.mean([deletion_curve(target, samples, np.argsort(rng.random(scores.shape), axis=1), ks, image)
                    for _ in range(random_repeats)], axis=0)
    area = float(np.mean(curve[0] - curve[1:])) if len(ks) > 1 else 0.0
    area_random = float(np.mean(rand[0] - rand[1:])) if len(ks) > 1 else 0.0
    return {
        "faithfulness": area - area_random,
        "area_over_curve": area,
        "area_over_curve_random": area_random,
        "removed_units": ks,
        "units": units,
        "curve": [round(float(v), 6) for v in curve],
        "curve_random": [round(float(v), 6) for v in rand],
        "deletion_settings": {"steps": steps, "max_fraction": max_fraction, "random_repeats": random_repeats},
    }
