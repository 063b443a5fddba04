"""Paired verdicts for ``ab``: two revisions measured in interleaved rounds on one machine.

Per benchmark and speed metric, round i gives one pair (base_i, head_i); the verdict reads the
paired ratio head/base (geometric mean of the per-round ratios) and its confidence interval
(``benchmarks.records.stats.paired_ratio``). With ``rel`` the metric's relative threshold:

- higher is better (throughput): worse when the whole interval lies below ``1 - rel``, better
  when it lies above ``1 + rel``;
- lower is better (latency): worse when the whole interval lies above ``1 + rel``, better when it
  lies below ``1 - rel``;
- otherwise same (an interval that straddles the threshold is not evidence of a change).

Fewer than 2 pairs give no interval: ``not comparable``. Rows and the comparison are compare's
types, so ``benchmarks.compare.render`` prints them and exit codes match ``compare``.
"""

from __future__ import annotations

import statistics
from typing import Any, Sequence

from benchmarks.compare.thresholds import Thresholds, is_number
from benchmarks.compare.verdicts import Comparison, Row, status_row
from benchmarks.records.stats import group_records, paired_ratio

# What ab compares by default: steady throughputs and median latency (train_time_s includes the
# first epoch's tracing and is left out).
AB_METRICS = ("train_samples_per_s", "inference_samples_per_s", "latency_ms_p50")
PAIRED_LEGEND = ("ab: both revisions ran on this machine in interleaved rounds (A B B A ...); "
                 "a round's value is the best of its repeats (load only slows); baseline/current: "
                 "medians over rounds; delta %: geometric mean of the paired "
                 "ratios current/baseline with its confidence interval; worse/better only when the "
                 "whole interval lies beyond the threshold; p: paired t-test of the log ratios.")


def paired_verdict(ci_low: float, ci_high: float, rel: float, higher_is_better: bool) -> str:
    """worse / better / same from the ratio interval [ci_low, ci_high] and the threshold ``rel``."""
    slow, fast = (ci_high < 1 - rel, ci_low > 1 + rel) if higher_is_better else \
        (ci_low > 1 + rel, ci_high < 1 - rel)
    return "worse" if slow else "better" if fast else "same"


def paired_row(model: str, dataset: str, metric: str, base: Sequence[float | None],
               head: Sequence[float | None], rel: float, higher_is_better: bool,
               confidence: float = 0.95, method: str = "t") -> Row:
    """One paired row from per-round values (``None``: no value that round)."""
    pairs = [(b, h) for b, h in zip(base, head) if is_number(b) and is_number(h) and b > 0 and h > 0]
    vb, vh = [p[0] for p in pairs], [p[1] for p in pairs]
    row = Row(model, dataset, metric, "speed", "paired", "not comparable", n_baseline=len(vb),
              n_current=len(vh), threshold=rel, higher_is_better=higher_is_better)
    if vb:
        row.baseline, row.current = statistics.median(vb), statistics.median(vh)
        row.delta = row.current - row.baseline
    pr = paired_ratio(vb, vh, confidence, method)
    if pr.ratio is not None:
        row.delta_pct = 100 * (pr.ratio - 1)
    if pr.ci_low is None:
        row.note = f"{len(pairs)} complete round(s): need 2+ for an interval; use --rounds 3 or more"
        return row
    row.ci_low, row.ci_high, row.p_value = pr.ci_low, pr.ci_high, pr.p_value
    row.verdict = paired_verdict(pr.ci_low, pr.ci_high, rel, higher_is_better)
    row.note = f"ratio {pr.fmt()} ({confidence:.0%} {pr.method} CI, {pr.n} rounds)"
    return row


def round_value(records: Sequence[dict[str, Any]], metric: str, higher_is_better: bool) -> float | None:
    """One round's value of a metric: the best over its successful repeats (seeds). Load from other
    processes only ever slows a measurement down, so the best repeat is the least disturbed one."""
    vals = [float(r[metric]) for r in records if r.get("status", "ok") == "ok" and is_number(r.get(metric))]
    if not vals:
        return None
    return max(vals) if higher_is_better else min(vals)


def compare_rounds(base_rounds: Sequence[Sequence[dict[str, Any]]],
                   head_rounds: Sequence[Sequence[dict[str, Any]]], thresholds: Thresholds | None = None,
                   metrics: Sequence[str] | None = None, *, baseline_label: str = "base",
                   current_label: str = "head", machine: dict[str, Any] | None = None,
                   confidence: float = 0.95, method: str = "t") -> Comparison:
    """Paired comparison of round i of ``base_rounds`` with round i of ``head_rounds``.

    Each round is a list of records (one run folder); ``metrics``: speed metrics (default: the
    ``AB_METRICS``). A pair whose runs fail on head only is a worse status row."""
    if len(base_rounds) != len(head_rounds):
        raise ValueError(f"paired rounds differ in number: {len(base_rounds)} vs {len(head_rounds)}")
    th = thresholds or Thresholds.load()
    metrics = list(metrics) if metrics else list(AB_METRICS)
    cmp = Comparison(baseline_label, current_label, machine or {}, machine or {}, legend=PAIRED_LEGEND)
    gb = [group_records(r) for r in base_rounds]
    gh = [group_records(r) for r in head_rounds]
    keys = list(dict.fromkeys(k for g in gb + gh for k in g))
    for key in sorted(keys, key=lambda k: (str(k[1]), str(k[0]))):
        model, dataset = key
        all_b = [r for g in gb for r in g.get(key, [])]
        all_h = [r for g in gh for r in g.get(key, [])]
        if not all_b or not all_h:
            cmp.rows.append(Row(model, dataset, "-", "status", "runs",
                                "missing" if all_b else "not comparable", n_baseline=len(all_b),
                                n_current=len(all_h), note=f"only in {'base' if all_b else 'head'}"))
            continue
        status = status_row(model, dataset, all_b, all_h)
        if status:
            cmp.rows.append(status)
        for metric in metrics:
            s = th.settings(model, dataset, metric)
            if not s["enabled"]:
                continue
            higher = bool(s["higher_is_better"])
            vb = [round_value(g.get(key, []), metric, higher) for g in gb]
            vh = [round_value(g.get(key, []), metric, higher) for g in gh]
            if all(v is None for v in vb) and all(v is None for v in vh):
                continue
            cmp.rows.append(paired_row(model, dataset, metric, vb, vh, float(s["rel"]), higher,
                                       confidence, method))
    return cmp
