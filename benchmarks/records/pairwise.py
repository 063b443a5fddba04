"""Which models are statistically tied with the best on one dataset: paired tests on the same test
samples, seed by seed, with Holm's correction (``benchmarks.records.significance``).

A quality column's best model is the one with the best mean. Another model *differs* from it only
when its paired test against the best (accuracy: exact McNemar; ROC-AUC: DeLong; other score
metrics: paired bootstrap) has a Holm-adjusted p below ``ALPHA`` on **every** seed (or fold) the two
share: an intersection-union test, level ``ALPHA``. Holm's family: all (model vs best, seed) tests
of that dataset and metric. Otherwise it is *tied with the best* and carries the tie marker.
Costs have no paired samples: a model is tied when its interval overlaps the best one's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from benchmarks.metrics import catalogue
from benchmarks.records import significance

ALPHA = 0.05
TIE_MARK = " ≈"  # after a value statistically tied with the best
BEST_MARK = " *"  # after the best value of a column
TEST_FOR = {"accuracy": "mcnemar", "roc_auc": "delong"}
TIE_RULE = (f"{BEST_MARK.strip()} best mean; {TIE_MARK.strip()} statistically tied with the best "
            f"(quality: paired test on the same test samples, exact McNemar for accuracy, DeLong for "
            f"ROC-AUC, paired bootstrap otherwise, Holm-adjusted p >= {ALPHA} on some seed; costs, or "
            f"no stored scores: intervals overlap)")


@dataclass(frozen=True)
class PairResult:
    """One paired test of two models on one dataset, seed (and fold) and metric."""

    dataset: str
    metric: str
    model_a: str
    model_b: str
    run: str  # "seed 0" / "seed 0, fold 1"
    test: str
    statistic: float | None
    p_value: float | None
    p_holm: float | None
    detail: str


def _runs(records: Sequence[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """(seed, fold) -> the successful record holding test labels and scores."""
    out = {}
    for r in records:
        if r.get("status", "ok") == "ok" and r.get("test_labels") and r.get("test_scores"):
            out.setdefault((r.get("seed"), r.get("fold")), r)
    return out


def _label(key: tuple) -> str:
    seed, fold = key
    return f"seed {seed}" + ("" if fold is None else f", fold {fold}")


def paired_test(metric: str, a: dict[str, Any], b: dict[str, Any],
                seed: int = 0) -> significance.PairedTest | None:
    """The paired test of ``metric`` between runs ``a`` and ``b`` (same test samples), or None when
    they did not score the same samples or the metric is not defined for them."""
    ya, yb = np.asarray(a["test_labels"], dtype=int), np.asarray(b["test_labels"], dtype=int)
    pa, pb = np.asarray(a["test_scores"], dtype=float), np.asarray(b["test_scores"], dtype=float)
    if ya.shape != yb.shape or not np.array_equal(ya, yb) or pa.shape != pb.shape or pa.ndim != 2:
        return None
    test = TEST_FOR.get(metric, "bootstrap")
    try:
        if test == "mcnemar":
            return significance.mcnemar_exact(ya, pa.argmax(axis=1), pb.argmax(axis=1))
        if test == "delong" and pa.shape[1] == 2:
            return significance.delong(ya, pa[:, 1], pb[:, 1])
        from benchmarks.metrics.classification import metric_from_scores

        metric_from_scores(metric, ya, pa)  # KeyError when not computable from scores
        return significance.paired_bootstrap_p(ya, pa, pb, metric, n_boot=500, seed=seed)
    except (ValueError, KeyError):
        return None


def pairwise(dataset: str, by_model: dict[str, Sequence[dict[str, Any]]], metric: str,
             against: str | None = None) -> list[PairResult]:
    """Paired tests of ``metric`` for every pair of models (or every model against ``against``) on
    every shared seed, Holm-adjusted over that family."""
    runs = {m: _runs(recs) for m, recs in by_model.items()}
    names = sorted(runs)
    pairs = [(against, m) for m in names if m != against] if against else list(combinations(names, 2))
    raw: list[tuple[str, str, tuple, significance.PairedTest]] = []
    for a, b in pairs:
        for key in sorted(set(runs.get(a, {})) & set(runs.get(b, {})), key=str):
            t = paired_test(metric, runs[a][key], runs[b][key], seed=int(key[0] or 0))
            if t is not None:
                raw.append((a, b, key, t))
    adjusted = significance.holm([t.p_value for *_, t in raw])
    return [PairResult(dataset, metric, a, b, _label(key), t.test, t.statistic, t.p_value, adj, t.detail)
            for (a, b, key, t), adj in zip(raw, adjusted)]


def _overlap(a: Any, b: Any) -> bool:
    if None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
        return False
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def quality_ties(dataset: str, by_model: dict[str, Sequence[dict[str, Any]]], metric: str,
                 summaries: dict[str, Any]) -> tuple[str | None, dict[str, bool]]:
    """(best model, model -> tied with the best) for a quality ``metric``; ``summaries`` maps
    model -> ``stats.Summary``. A model without a paired test against the best (no stored scores
    on a shared seed) is tied when its interval overlaps the best one's."""
    entry = catalogue.get(metric)
    have = {m: s.mean for m, s in summaries.items() if s.mean is not None and math.isfinite(s.mean)}
    if len(have) < 2:
        return (next(iter(have), None), {})
    best = (max if entry.higher_is_better else min)(sorted(have), key=lambda m: have[m])
    results = pairwise(dataset, {m: by_model[m] for m in have}, metric, against=best)
    ties = {}
    for m in have:
        if m == best:
            continue
        mine = [r for r in results if r.model_b == m and r.p_holm is not None]
        if not mine:
            ties[m] = _overlap(summaries[m], summaries[best])
        else:
            ties[m] = not all(r.p_holm < ALPHA for r in mine)
    return best, ties


def cost_ties(metric: str, summaries: dict[str, Any]) -> tuple[str | None, dict[str, bool]]:
    """(best model, model -> its interval overlaps the best one's) for a cost metric; ``summaries``
    maps model -> ``stats.Summary``."""
    entry = catalogue.get(metric)
    have = {m: s for m, s in summaries.items() if s.mean is not None}
    if len(have) < 2:
        return (next(iter(have), None), {})
    best = (max if entry.higher_is_better else min)(sorted(have), key=lambda m: have[m].mean)
    return best, {m: _overlap(s, have[best]) for m, s in have.items() if m != best}
