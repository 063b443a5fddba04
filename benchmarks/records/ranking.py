"""A verdict across datasets (Demšar, JMLR 2006): each model's rank per dataset (1 = best; ties
share the average rank) by its mean over seeds of one quality metric, the mean rank per model,
Friedman's test of "all models rank alike", and Nemenyi's critical difference (CD): two models
whose mean ranks differ by less than CD are not significantly different.

Friedman and Nemenyi need every model on every dataset (a complete block design). A run mixes
modalities (images: cnn, mobilenet; expression/tabular: dnn), so the rankings are: one over all
datasets with the models that ran on all of them, and one per group of datasets that share the
same set of models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from benchmarks.metrics import catalogue

ALPHA = 0.05


@dataclass
class Ranking:
    """Ranks of ``models`` (columns) over ``datasets`` (rows) and the tests on them."""

    title: str
    metric: str
    datasets: list[str]
    models: list[str]
    values: np.ndarray  # (datasets, models): mean of the metric over seeds
    ranks: np.ndarray  # (datasets, models)
    alpha: float = ALPHA
    friedman_stat: float | None = None
    friedman_p: float | None = None
    cd: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def mean_ranks(self) -> dict[str, float]:
        """model -> mean rank, best (lowest) first."""
        means = self.ranks.mean(axis=0)
        order = np.argsort(means, kind="stable")
        return {self.models[i]: float(means[i]) for i in order}

    def not_different(self, a: str, b: str) -> bool:
        """Mean ranks within the critical difference (True when CD is unknown)."""
        r = self.mean_ranks
        return self.cd is None or abs(r[a] - r[b]) < self.cd

    def cliques(self) -> list[list[str]]:
        """Maximal runs of models (in mean-rank order) whose extreme ranks differ by less than CD:
        the bars of a CD diagram."""
        if self.cd is None:
            return []
        names = list(self.mean_ranks)
        r = self.mean_ranks
        out: list[list[str]] = []
        for i in range(len(names)):
            j = i
            while j + 1 < len(names) and r[names[j + 1]] - r[names[i]] < self.cd:
                j += 1
            if j > i and not any(set(names[i:j + 1]) <= set(c) for c in out):
                out.append(names[i:j + 1])
        return out

    def verdict(self) -> str:
        """One sentence saying what the test allows one to conclude."""
        n, k = len(self.datasets), len(self.models)
        best = next(iter(self.mean_ranks))
        if self.friedman_p is None:
            test = "Friedman's test needs at least 3 models and 2 datasets"
        elif self.friedman_p < self.alpha:
            test = f"Friedman p = {self.friedman_p:.3g} < {self.alpha}: the models do not rank alike"
        else:
            test = (f"Friedman p = {self.friedman_p:.3g} >= {self.alpha}: no evidence that the models "
                    f"rank differently")
        cd = f"; Nemenyi CD = {self.cd:.2f}" if self.cd is not None else ""
        return f"{k} models over {n} datasets, best mean rank {best}. {test}{cd}."


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """Nemenyi's critical difference of mean ranks: q_alpha sqrt(k (k + 1) / (6 n)), q_alpha the
    studentized range quantile for k groups and infinite degrees of freedom over sqrt(2)."""
    from scipy.stats import studentized_range

    q = float(studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n))


def rank_matrix(values: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Per row, rank 1 for the best value, average ranks for ties."""
    from scipy.stats import rankdata

    return np.vstack([rankdata(-row if higher_is_better else row, method="average") for row in values])


def ranking(title: str, metric: str, table: dict[str, dict[str, float]], models: Sequence[str],
            alpha: float = ALPHA) -> Ranking:
    """A ``Ranking`` of ``models`` over the datasets of ``table`` (dataset -> model -> value)."""
    datasets = sorted(table)
    models = sorted(models)
    values = np.array([[table[d][m] for m in models] for d in datasets], dtype=float)
    ranks = rank_matrix(values, catalogue.get(metric).higher_is_better)
    out = Ranking(title, metric, datasets, models, values, ranks, alpha)
    n, k = len(datasets), len(models)
    if k >= 2 and n >= 2:
        out.cd = nemenyi_cd(k, n, alpha)
    if k >= 3 and n >= 2:
        from scipy.stats import friedmanchisquare

        if np.ptp(ranks, axis=1).any():
            res = friedmanchisquare(*values.T)
            out.friedman_stat, out.friedman_p = float(res.statistic), float(res.pvalue)
        else:  # every dataset ranks all models equal
            out.friedman_stat, out.friedman_p = 0.0, 1.0
    if n < 5:
        out.notes.append(f"only {n} datasets: the tests have little power, and the chi-square "
                         "approximation behind Friedman's p is rough")
    return out


def dataset_means(records: Sequence[dict[str, Any]], metric: str) -> dict[str, dict[str, float]]:
    """dataset -> model -> mean of ``metric`` over the successful runs that have it."""
    acc: dict[str, dict[str, list[float]]] = {}
    for r in records:
        v = r.get(metric)
        if r.get("status", "ok") != "ok" or isinstance(v, bool) or not isinstance(v, (int, float)) \
                or not math.isfinite(v):
            continue
        acc.setdefault(str(r.get("dataset")), {}).setdefault(str(r.get("model")), []).append(float(v))
    return {d: {m: float(np.mean(v)) for m, v in ms.items()} for d, ms in acc.items()}


def rankings(records: Sequence[dict[str, Any]], metric: str = "accuracy",
             alpha: float = ALPHA) -> list[Ranking]:
    """The cross-dataset rankings of a run: over all datasets with the models common to all of them
    (when at least 2), then one per group of datasets sharing the same models (when that group
    differs from all datasets and holds at least 2 datasets and 2 models)."""
    catalogue.get(metric)  # KeyError naming the valid metrics
    table = dataset_means(records, metric)
    if len(table) < 2:
        return []
    out = []
    common = sorted(set.intersection(*(set(ms) for ms in table.values())))
    everyone = sorted(set().union(*(set(ms) for ms in table.values())))
    if len(common) >= 2:
        title = ("all datasets" if common == everyone
                 else f"all datasets, models on every dataset ({', '.join(common)})")
        out.append(ranking(title, metric, table, common, alpha))
    groups: dict[tuple[str, ...], list[str]] = {}
    for d, ms in table.items():
        groups.setdefault(tuple(sorted(ms)), []).append(d)
    if len(groups) > 1:
        for models, datasets in sorted(groups.items(), key=lambda kv: sorted(kv[1])):
            if len(datasets) >= 2 and len(models) >= 2:
                out.append(ranking(f"datasets {', '.join(sorted(datasets))}", metric,
                                   {d: table[d] for d in datasets}, models, alpha))
    return out


def ranking_rows(rk: Ranking) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a ranking table: model, mean rank, its rank per dataset, and the models
    within the critical difference of the best."""
    means = rk.mean_ranks
    best = next(iter(means))
    headers = ["model", "mean rank"] + [f"rank on {d}" for d in rk.datasets] + ["within CD of the best"]
    rows = []
    for m, r in means.items():
        j = rk.models.index(m)
        ranks = [f"{rk.ranks[i, j]:g} ({rk.values[i, j]:.3f})" for i in range(len(rk.datasets))]
        within = "best" if m == best else ("yes" if rk.not_different(best, m) and rk.cd is not None else
                                           "n/a" if rk.cd is None else "no")
        rows.append([m, f"{r:.2f}"] + ranks + [within])
    return headers, rows


def render_text(rks: Sequence[Ranking], fmt: str = "simple") -> str:
    """The rankings as tabulate tables with their verdict lines."""
    from tabulate import tabulate

    if not rks:
        return "no ranking: it needs at least 2 datasets with at least 2 models in common"
    parts = []
    for rk in rks:
        headers, rows = ranking_rows(rk)
        head = f"Ranking by {catalogue.get(rk.metric).header} over {rk.title}"
        parts.append(f"{head}\n{rk.verdict()}" + "".join(f"\nNote: {n}." for n in rk.notes) + "\n"
                     + tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True))
    return "\n\n".join(parts)
