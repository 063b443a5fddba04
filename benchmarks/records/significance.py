"""Paired tests of two models scored on the same test samples, and Holm's correction.

- ``mcnemar_exact``: McNemar's exact test on correctness (two-sided binomial test of the
  discordant pairs, ``scipy.stats.binomtest``; the same as statsmodels' ``mcnemar(exact=True)``).
- ``delong``: DeLong, DeLong & Clarke-Pearson (1988) test of two correlated ROC-AUCs, in the
  fast form of Sun & Xu (2014, midranks); binary tasks. No maintained Python library ships it
  (scipy, statsmodels and scikit-learn do not); tests check it against MLstatkit's
  implementation and against the direct definition by placement values.
- ``paired_bootstrap_p``: any score metric, paired percentile bootstrap over test samples.
- ``holm``: Holm's step-down adjustment of a family of p-values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass(frozen=True)
class PairedTest:
    """One paired comparison of model A against model B on the same samples."""

    test: str  # "mcnemar" | "delong" | "bootstrap"
    statistic: float | None  # McNemar: b (A right, B wrong); DeLong: z of AUC_A - AUC_B
    p_value: float | None
    detail: str = ""


def mcnemar_exact(y_true: Sequence[int], pred_a: Sequence[int], pred_b: Sequence[int]) -> PairedTest:
    """Exact two-sided McNemar test: b = samples A gets right and B wrong, c = the reverse; under
    the null b ~ Binomial(b + c, 1/2). p = 1 when there is no discordant sample."""
    from scipy.stats import binomtest

    y = np.asarray(y_true)
    ra, rb = np.asarray(pred_a) == y, np.asarray(pred_b) == y
    if not (len(ra) == len(rb) == len(y)):
        raise ValueError("McNemar needs the same samples for both models")
    b, c = int((ra & ~rb).sum()), int((~ra & rb).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return PairedTest("mcnemar", float(b), min(p, 1.0), f"b={b}, c={c}")


def _midrank(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def delong_components(y_true: Sequence[int],
                      scores: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) and their DeLong covariance matrix (k, k) for k score vectors on the same samples
    (class 1 = positive); Sun & Xu's fast algorithm with midranks (ties count one half)."""
    y = np.asarray(y_true).astype(int)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    if m < 2 or n < 2 or m + n != y.size:
        raise ValueError("DeLong needs binary labels with at least two samples of each class")
    k = s.shape[0]
    aucs, v10, v01 = np.empty(k), np.empty((k, m)), np.empty((k, n))
    for r in range(k):
        tx, ty, tz = _midrank(s[r, pos]), _midrank(s[r, neg]), _midrank(s[r])
        aucs[r] = (tz[pos].sum() - m * (m + 1) / 2) / (m * n)
        v10[r] = (tz[pos] - tx) / n  # placement of each positive among the negatives
        v01[r] = 1.0 - (tz[neg] - ty) / m  # of each negative among the positives
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def delong(y_true: Sequence[int], score_a: Sequence[float], score_b: Sequence[float]) -> PairedTest:
    """DeLong's two-sided test of AUC_A = AUC_B on the same samples (class-1 scores)."""
    from scipy.stats import norm

    aucs, cov = delong_components(y_true, [score_a, score_b])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[0] - aucs[1])
    if var <= 1e-15:
        return PairedTest("delong", None, 1.0 if abs(diff) < 1e-12 else 0.0,
                          f"AUC {aucs[0]:.3f} vs {aucs[1]:.3f}, zero variance")
    z = diff / math.sqrt(var)
    return PairedTest("delong", z, float(2 * norm.sf(abs(z))), f"AUC {aucs[0]:.3f} vs {aucs[1]:.3f}")


def paired_bootstrap_p(y_true: Sequence[int], proba_a: np.ndarray, proba_b: np.ndarray,
                       metric: str | Callable[[np.ndarray, np.ndarray], float], *, n_boot: int = 1000,
                       seed: int = 0) -> PairedTest:
    """Two-sided paired bootstrap: the same resampled test samples score both models; p = twice
    the smaller share of replicates on either side of zero difference (with +1 smoothing).
    ``metric``: a catalogue name (every resample at once: ``benchmarks.metrics.resampled``) or a
    function ``metric(y_true, proba)`` called per resample."""
    y = np.asarray(y_true).astype(int)
    a, b = np.asarray(proba_a, dtype=float), np.asarray(proba_b, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, y.size, (n_boot, y.size))
    if isinstance(metric, str):
        from benchmarks.metrics.resampled import metric_on_resamples

        d = metric_on_resamples(metric, y, a, idx) - metric_on_resamples(metric, y, b, idx)
    else:
        d = np.full(n_boot, np.nan)
        for k, i in enumerate(idx):
            try:
                d[k] = metric(y[i], a[i]) - metric(y[i], b[i])
            except ValueError:
                continue
    d = d[np.isfinite(d)]
    if d.size < 10:
        return PairedTest("bootstrap", None, None, "too few defined resamples")
    p = 2 * min((np.sum(d <= 0) + 1) / (d.size + 1), (np.sum(d >= 0) + 1) / (d.size + 1))
    return PairedTest("bootstrap", float(d.mean()), min(1.0, float(p)), f"{d.size} resamples")


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None, and does not count in the family):
    sort ascending, multiply the i-th smallest (0-based) by (m - i), keep them monotone, cap at 1."""
    idx = [i for i, p in enumerate(p_values) if p is not None]
    m = len(idx)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        out[i] = running
    return out
