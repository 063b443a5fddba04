"""Statistics over repeated runs: mean, std, Student-t and bootstrap confidence intervals, and the
two-sample tests behind ``compare`` (pooled std, one-sided Mann-Whitney U), and the paired
log-ratio statistics behind ``ab`` (interleaved runs of two revisions on one machine)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np


@dataclass(frozen=True)
class Summary:
    """Mean, sample std and a confidence interval of one metric over n runs."""

    mean: float | None
    std: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    method: str  # "t" (over seeds/folds), "bootstrap" (over test samples), "none"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fmt(self, digits: int = 3, ci: bool = False) -> str:
        """``0.812 ± 0.010`` (std), or with ``ci``: ``0.812 [0.790, 0.834]``; ``n/a`` when empty."""
        if self.mean is None:
            return "n/a"
        s = f"{self.mean:.{digits}f}"
        if ci and self.ci_low is not None:
            return f"{s} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"
        if self.n > 1 and self.std is not None:
            s += f" ± {self.std:.{digits}f}"
        return s


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean ± Student-t confidence interval over independent runs (seeds or folds)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return Summary(None, None, 0, None, None, "none")
    mean = float(x.mean())
    if n == 1:
        return Summary(mean, None, 1, None, None, "none")
    from scipy import stats

    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
    return Summary(mean, std, n, mean - half, mean + half, "t")


def bootstrap_interval(
    y_true: Sequence[int],
    y_score: Sequence[Sequence[float]],
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Summary:
    """Percentile bootstrap over test samples for a single run.

    ``metric(y_true, y_score)`` is evaluated on resamples (with replacement) of the
    test set; resamples where it is undefined (e.g. one class only) are skipped.
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=float)
    point = float(metric(y_true, y_score))
    rng = np.random.default_rng(seed)
    n = y_true.size
    stats_ = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            v = float(metric(y_true[idx], y_score[idx]))
        except ValueError:
            continue
        if math.isfinite(v):
            stats_.append(v)
    if len(stats_) < 10:
        return Summary(point, None, 1, None, None, "none")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(stats_, [a, 1 - a])
    return Summary(point, float(np.std(stats_, ddof=1)), 1, float(lo), float(hi), "bootstrap")


def _metric_fn(name: str) -> Callable[[np.ndarray, np.ndarray], float] | None:
    """A function (y_true, y_score) -> value for quality metrics computable from scores."""
    from benchmarks.metrics.classification import metric_from_scores

    return lambda yt, ys: metric_from_scores(name, yt, ys)


def summarize(records: Sequence[dict[str, Any]], metric: str, confidence: float = 0.95) -> Summary:
    """Summary of ``metric`` over records of one (model, dataset).

    Several runs: Student t over seeds/folds. One run with stored test scores and a
    quality metric: bootstrap over test samples. Otherwise the value alone.
    """
    ok = [r for r in records if r.get("status", "ok") == "ok"]
    vals = [r.get(metric) for r in ok]
    vals = [float(v) for v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(vals) == 1 and len(ok) == 1:
        r = ok[0]
        from benchmarks.metrics.catalogue import names

        if metric in names("quality") and r.get("test_labels") and r.get("test_scores"):
            try:
                return bootstrap_interval(r["test_labels"], r["test_scores"], _metric_fn(metric),
                                          confidence=confidence, seed=int(r.get("seed") or 0))
            except (ValueError, KeyError):  # KeyError: not computable from scores (faithfulness)
                pass
    return t_interval(vals, confidence)


def group_records(
    records: Iterable[dict[str, Any]], by: tuple[str, ...] = ("model", "dataset")
) -> dict[tuple, list[dict[str, Any]]]:
    """Records grouped by the ``by`` fields, in first-seen order."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[tuple(r.get(k) for k in by)].append(r)
    return dict(groups)


def aggregate(
    records: Iterable[dict[str, Any]],
    metrics: Sequence[str],
    by: tuple[str, ...] = ("model", "dataset"),
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """One row per group: the group keys, run counts, and a Summary per metric."""
    rows = []
    for key, recs in group_records(records, by).items():
        row: dict[str, Any] = dict(zip(by, key))
        row["runs"] = len(recs)
        row["failed"] = sum(1 for r in recs if r.get("status", "ok") != "ok")
        for m in metrics:
            row[m] = summarize(recs, m, confidence)
        rows.append(row)
    return rows


def pooled_std(a: Sequence[float], b: Sequence[float]) -> float:
    """sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2)); 0 without degrees of freedom."""
    dof = len(a) + len(b) - 2
    if dof <= 0:
        return 0.0
    ss = sum((len(xs) - 1) * statistics.variance(xs) for xs in (a, b) if len(xs) > 1)
    return math.sqrt(ss / dof)


def min_exact_p(n1: int, n2: int) -> float:
    """Smallest one-sided exact Mann-Whitney p-value for sample sizes n1, n2: 1 / C(n1+n2, n1)."""
    return 1.0 / math.comb(n1 + n2, n1)


def mann_whitney_p(current: Sequence[float], baseline: Sequence[float], current_lower: bool) -> float:
    """One-sided p-value that ``current`` tends to be lower (or higher) than ``baseline``."""
    from scipy.stats import mannwhitneyu

    method = "exact" if len(current) * len(baseline) <= 400 else "asymptotic"
    res = mannwhitneyu(current, baseline, alternative="less" if current_lower else "greater", method=method)
    return float(res.pvalue)


@dataclass(frozen=True)
class PairedRatio:
    """Geometric mean of paired ratios head/base with a confidence interval (on the ratio scale).

    ``ratio`` 0.85 means head is 15% lower than base; ``p_value``: two-sided paired t-test of the
    log ratios against 0 (None with fewer than 2 pairs or no spread).
    """

    n: int
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    method: str  # "t" | "bootstrap" | "none"

    def fmt(self) -> str:
        """``0.853 [0.801, 0.908]`` or ``n/a``."""
        if self.ratio is None:
            return "n/a"
        if self.ci_low is None:
            return f"{self.ratio:.3f}"
        return f"{self.ratio:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}]"


def paired_log_ratios(base: Sequence[float], head: Sequence[float]) -> list[float]:
    """``log(head_i / base_i)`` per pair; pairs with a missing or non-positive value are dropped."""
    if len(base) != len(head):
        raise ValueError(f"paired values need equal lengths, got {len(base)} and {len(head)}")
    out = []
    for b, h in zip(base, head):
        if b is None or h is None or not (math.isfinite(b) and math.isfinite(h)) or b <= 0 or h <= 0:
            continue
        out.append(math.log(h / b))
    return out


def paired_ratio(base: Sequence[float], head: Sequence[float], confidence: float = 0.95,
                 method: str = "t", n_boot: int = 2000, seed: int = 0) -> PairedRatio:
    """Paired ratio head/base over rounds: ``exp(mean log ratio)`` and its interval.

    ``method="t"``: Student-t interval of the mean log ratio (n - 1 degrees of freedom);
    ``"bootstrap"``: percentile bootstrap over pairs. One pair gives the ratio without interval.
    """
    if method not in ("t", "bootstrap"):
        raise ValueError(f"method must be 't' or 'bootstrap', got {method!r}")
    logs = np.asarray(paired_log_ratios(base, head), dtype=float)
    n = int(logs.size)
    if n == 0:
        return PairedRatio(0, None, None, None, None, "none")
    mean = float(logs.mean())
    if n == 1:
        return PairedRatio(1, math.exp(mean), None, None, None, "none")
    from scipy import stats

    sd = float(logs.std(ddof=1))
    p = None
    if sd > 0:
        p = float(2 * stats.t.sf(abs(mean) / (sd / math.sqrt(n)), df=n - 1))
    if method == "t":
        half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sd / math.sqrt(n)
        lo, hi = mean - half, mean + half
    else:
        rng = np.random.default_rng(seed)
        means = logs[rng.integers(0, n, (n_boot, n))].mean(axis=1)
        a = (1 - confidence) / 2
        lo, hi = (float(v) for v in np.quantile(means, [a, 1 - a]))
    return PairedRatio(n, math.exp(mean), math.exp(lo), math.exp(hi), p, method)
