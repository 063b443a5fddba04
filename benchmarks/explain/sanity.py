"""Model-randomisation sanity check (Adebayo et al. 2018, "Sanity checks for saliency maps").

The same method explains the same samples for the trained model and for a randomised one
(Keras: the same architecture with freshly initialised weights; scikit-learn: the same
estimator fitted on shuffled labels, the paper's data-randomisation test). A method that
reflects the model gives dissimilar maps: a low Spearman rank correlation of |attribution|.
"""

from __future__ import annotations

import numpy as np


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over samples of the Spearman correlation of |a| and |b| (flattened per sample)."""
    from scipy.stats import spearmanr

    values = []
    for u, v in zip(np.abs(a).reshape(len(a), -1), np.abs(b).reshape(len(b), -1)):
        if np.ptp(u) == 0 or np.ptp(v) == 0:
            continue  # constant map: correlation undefined
        values.append(float(spearmanr(u, v).statistic))
    return float(np.mean(values)) if values else float("nan")
