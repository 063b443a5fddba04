"""Statistics over repeated runs: confidence intervals that match the quantity, the two-sample
tests behind ``compare`` (pooled std, one-sided Mann-Whitney U), and the paired log-ratio
statistics behind ``ab`` (interleaved runs of two revisions on one machine).

Intervals (``summarize``), 95% unless asked otherwise:

- quality metrics (fractions in [0, 1]) computable from the stored test labels and scores: a
  two-level bootstrap, seeds resampled with replacement and, within each replicate, the test
  samples resampled with replacement (one draw shared by the runs that scored the same test set),
  percentile interval of the mean over the drawn seeds; it stays inside [0, 1] and a deterministic
  model still gets the width of test-set sampling (``"seed+test bootstrap"``);
- other fractions: Student t over seeds/folds, clipped to [0, 1] (``"t, clipped"``);
- costs (times, throughputs, memory: positive by nature): with >= 3 positive repeats the geometric
  mean and a Student-t interval of the log values, exponentiated (``"log-t"``), so never below
  zero; with fewer repeats (or a zero among them) the range min..max (``"range"``).
"""

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
    method: str  # "t", "t, clipped", "bootstrap", "seed+test bootstrap", "log-t", "range", "exact", "none"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fmt(self, digits: int = 3, ci: bool = False) -> str:
        """``0.812 ± 0.010`` (std), or with ``ci``: ``0.812 [0.790, 0.834]``; ``n/a`` when empty."""
        if self.mean is None:
            return "n/a"
        s = f"{self.mean:.{digits}f}"
        if ci and self.ci_low is not None and self.method != "exact":
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
    metric: str | Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Summary:
    """Percentile bootstrap over test samples for a single run.

    ``metric``: a catalogue name computable from scores (all resamples at once:
    ``benchmarks.metrics.resampled``) or a function ``metric(y_true, y_score)`` evaluated per
    resample; resamples where it is undefined (e.g. one class only) are skipped.
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=float)
    rng = np.random.default_rng(seed)
    n = y_true.size
    idx = rng.integers(0, n, (n_boot, n))
    if isinstance(metric, str):
        from benchmarks.metrics.classification import metric_from_scores
        from benchmarks.metrics.resampled import metric_on_resamples

        point = float(metric_from_scores(metric, y_true, y_score))
        values = metric_on_resamples(metric, y_true, y_score, idx)
    else:
        point = float(metric(y_true, y_score))
        values = np.full(n_boot, np.nan)
        for b, i in enumerate(idx):
            try:
                values[b] = float(metric(y_true[i], y_score[i]))
            except ValueError:
                continue
    stats_ = values[np.isfinite(values)]
    if len(stats_) < 10:
        return Summary(point, None, 1, None, None, "none")
    a = (1 - confidence) / 2
    lo, hi = np.quantile(stats_, [a, 1 - a])
    return Summary(point, float(np.std(stats_, ddof=1)), 1, float(lo), float(hi), "bootstrap")


QUALITY_METHOD = "seed+test bootstrap"
COST_METHODS = {"log-t": "geometric mean, 95% Student-t interval of the log values over repeats",
                "range": "mean, range (min..max) over fewer than 3 repeats",
                "exact": "the same value on every repeat (shown without an interval)"}
METHOD_TEXT = {
    QUALITY_METHOD: "95% two-level bootstrap: seeds resampled, and within each replicate the test "
                    "samples resampled (1000 replicates, percentile interval)",
    "bootstrap": "95% percentile bootstrap over test samples (one run)",
    "t": "95% Student-t interval over seeds/folds",
    "t, clipped": "95% Student-t interval over seeds/folds, clipped to [0, 1]",
    **COST_METHODS,
}
def quality_bootstrap(
    runs: Sequence[tuple[Sequence[int], Sequence[Sequence[float]]]],
    metric: str,
    *,
    thresholds: Sequence[float] | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Two-level percentile bootstrap of the mean of ``metric`` over ``runs`` ((test labels, test
    scores) per seed/fold): each replicate draws the runs with replacement and, for each drawn run,
    the test samples with replacement (runs that scored the same test set share one draw: their
    test-set sampling is common). Resamples where the metric is undefined are skipped. Returns
    (low, high), or None with fewer than 10 usable replicates. ``thresholds``: one per run, for
    ``sensitivity``/``specificity`` at each run's own validation threshold. Every resample of a run
    is scored at once (``benchmarks.metrics.resampled``)."""
    from benchmarks.metrics.resampled import metric_on_resamples

    ys = [np.asarray(y).astype(int) for y, _ in runs]
    ps = [np.asarray(p, dtype=float) for _, p in runs]
    if not ys or any(p.ndim != 2 or len(p) != len(y) or len(y) == 0 for y, p in zip(ys, ps)):
        raise ValueError("stored test labels and scores do not match")
    shared = all(y.shape == ys[0].shape and np.array_equal(y, ys[0]) for y in ys)
    rng = np.random.default_rng(seed)
    n_runs = len(runs)
    draws = rng.integers(0, n_runs, (n_boot, n_runs)) if n_runs > 1 else np.zeros((n_boot, 1), int)
    if shared:
        n = len(ys[0])
        idx_shared = rng.integers(0, n, (n_boot, n))
    per_run: list[np.ndarray] = []
    for r in range(n_runs):
        idx = idx_shared if shared else rng.integers(0, len(ys[r]), (n_boot, len(ys[r])))
        needed = np.flatnonzero((draws == r).any(axis=1))  # replicates that draw run r
        vals = np.full(n_boot, np.nan)
        vals[needed] = metric_on_resamples(metric, ys[r], ps[r], idx[needed],
                                           None if thresholds is None else thresholds[r])
        per_run.append(vals)
    table = np.stack(per_run, axis=1)  # (n_boot, n_runs)
    reps = np.take_along_axis(table, draws, axis=1).mean(axis=1)
    reps = reps[np.isfinite(reps)]
    if reps.size < 10:
        return None
    a = (1 - confidence) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return float(lo), float(hi)


def cost_interval(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """An interval for a non-negative cost over repeats: with >= 3 values, all positive, the
    geometric mean and the exponentiated Student-t interval of the logs (``"log-t"``); with 2
    values (or a zero among them) the mean and the range (``"range"``); one value alone."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return Summary(None, None, 0, None, None, "none")
    std = float(x.std(ddof=1)) if n > 1 else None
    if n == 1:
        return Summary(float(x[0]), None, 1, None, None, "none")
    if np.ptp(x) == 0:  # a count or FLOPs: the same on every run
        return Summary(float(x[0]), 0.0, n, float(x[0]), float(x[0]), "exact")
    if n < 3 or (x <= 0).any():
        return Summary(float(x.mean()), std, n, float(x.min()), float(x.max()), "range")
    from scipy import stats

    logs = np.log(x)
    m, sd = float(logs.mean()), float(logs.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sd / math.sqrt(n)
    return Summary(math.exp(m), std, n, math.exp(m - half), math.exp(m + half), "log-t")


def clip_unit(s: Summary) -> Summary:
    """``s`` with its interval clipped to [0, 1] (method suffixed ", clipped" when it changed)."""
    if s.ci_low is None or s.ci_high is None:
        return s
    lo, hi = max(s.ci_low, 0.0), min(s.ci_high, 1.0)
    if (lo, hi) == (s.ci_low, s.ci_high):
        return s
    return Summary(s.mean, s.std, s.n, lo, hi, s.method + ", clipped")


def summarize(records: Sequence[dict[str, Any]], metric: str, confidence: float = 0.95) -> Summary:
    """Summary of ``metric`` over records of one (model, dataset), by the kind of quantity (see the
    module docstring): quality from stored scores by the two-level bootstrap (one run: the
    bootstrap over its test samples); other fractions Student t clipped to [0, 1]; costs log-t or
    the range; metrics outside the catalogue Student t."""
    from benchmarks.metrics.catalogue import METRICS

    ok = [r for r in records if r.get("status", "ok") == "ok"]
    with_value = [r for r in ok if isinstance(r.get(metric), (int, float))
                  and not isinstance(r.get(metric), bool) and math.isfinite(r[metric])]
    vals = [float(r[metric]) for r in with_value]
    entry = METRICS.get(metric)
    if entry is None:
        return t_interval(vals, confidence)
    if entry.kind == "cost":
        return cost_interval(vals, confidence)
    if len(vals) == 1 and len(ok) == 1 and ok[0].get("test_labels") and ok[0].get("test_scores") \
            and metric not in SIGNED:
        r = ok[0]
        try:
            return bootstrap_interval(r["test_labels"], r["test_scores"], metric,
                                      confidence=confidence, seed=int(r.get("seed") or 0))
        except (ValueError, KeyError, IndexError):  # KeyError: not computable from scores
            pass
    elif vals and all(r.get("test_labels") and r.get("test_scores") for r in with_value):
        runs = [(r["test_labels"], r["test_scores"]) for r in with_value]
        seed = int(with_value[0].get("seed") or 0)
        name, thresholds = _at_val_threshold(metric, with_value)
        try:
            ci = quality_bootstrap(runs, name, thresholds=thresholds, confidence=confidence, seed=seed)
        except (KeyError, IndexError):  # not computable from scores (faithfulness, multi-class sens.)
            ci = None
        if ci is not None:
            mean = float(np.mean(vals))
            std = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
            lo, hi = min(max(ci[0], 0.0), mean), max(min(ci[1], 1.0), mean)
            return Summary(mean, std, len(vals), lo, hi, QUALITY_METHOD)
    s = t_interval(vals, confidence)
    return clip_unit(s) if entry.unit == "fraction" and metric not in SIGNED else s


def _at_val_threshold(metric: str, records: Sequence[dict[str, Any]]) -> tuple[str, list[float] | None]:
    """``sensitivity_val_threshold`` / ``specificity_val_threshold``: (``sensitivity`` /
    ``specificity``, each record's own ``val_threshold``); other metrics: (metric, None)."""
    if metric not in ("sensitivity_val_threshold", "specificity_val_threshold") \
            or any(not isinstance(r.get("val_threshold"), (int, float)) for r in records):
        return metric, None
    return metric.removesuffix("_val_threshold"), [float(r["val_threshold"]) for r in records]


# Catalogued as "fraction" but signed: faithfulness is a difference of two areas (0 = random).
SIGNED = frozenset({"faithfulness"})


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
