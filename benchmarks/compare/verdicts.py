"""Compare's verdicts: per (model, dataset) and metric, baseline vs current -> better / same /
worse / not comparable, as a pure function of two record lists (``compare_records``).

- quality (accuracy, F1, ROC-AUC, ...): mean over seeds/folds per side; worse when the drop
  exceeds ``max(abs_floor, k_std * pooled_std)``;
- speed (throughput, latency, training time): median per side; raw values only when the
  machines match, else normalised by the control benchmark measured in the same run (as
  information only, without a verdict, when the processors differ: ``not comparable (different
  CPU)``; speed across CPUs is compared by ``ab`` on one machine instead); worse
  when the relative change exceeds ``rel`` and, with repeats, a one-sided Mann-Whitney U test
  (exact) gives p <= alpha;
- status: a pair whose runs now fail (and did not) is worse;
- missing: a metric (or a whole pair) the baseline has and the current run lacks is ``missing``,
  which fails like ``worse`` (a run that stops measuring something must not pass unnoticed).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from benchmarks.compare.thresholds import Thresholds, is_number
from benchmarks.core.errors import OncobenchError
from benchmarks.records.baseline import machine_id
from benchmarks.records.stats import group_records, mann_whitney_p, min_exact_p, pooled_std

VERDICTS = ("worse", "missing", "better", "same", "not comparable")
FAILING = ("worse", "missing")  # verdicts that give exit code 1
FAIL_ON = ("any", "quality", "speed")
_EPS = 1e-12


@dataclass
class Row:
    """One (model, dataset, metric[, basis]) comparison."""

    model: str
    dataset: str
    metric: str
    kind: str  # quality | speed | status
    basis: str  # seeds (quality) | raw | control (speed) | runs (status)
    verdict: str
    baseline: float | None = None  # quality: mean; speed: median
    current: float | None = None
    baseline_std: float | None = None
    current_std: float | None = None
    n_baseline: int = 0
    n_current: int = 0
    delta: float | None = None  # current - baseline
    delta_pct: float | None = None  # 100 * delta / |baseline|
    threshold: float | None = None  # quality: absolute; speed: relative (0.05 = 5%)
    p_value: float | None = None  # speed: one-sided Mann-Whitney U, in the direction of the change
    higher_is_better: bool | None = None
    note: str = ""
    ci_low: float | None = None  # paired (ab): confidence interval of the ratio current/baseline
    ci_high: float | None = None

    @property
    def label(self) -> str:
        if self.basis != "control":
            return self.metric
        return f"{self.metric}{'/' if self.higher_is_better else '*'}ctrl"


@dataclass
class Comparison:
    baseline_label: str
    current_label: str
    baseline_machine: dict[str, Any]
    current_machine: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    legend: str | None = None  # how the rows were decided (None: compare's default legend)

    def counts(self) -> dict[str, int]:
        return {v: sum(1 for r in self.rows if r.verdict == v) for v in VERDICTS}

    def failing(self, fail_on: str = "any") -> list[Row]:
        """Rows that make the exit code 1: worse or missing rows of the kinds in ``fail_on`` (status
        always)."""
        kinds = {"any": ("quality", "speed", "status"), "quality": ("quality", "status"),
                 "speed": ("speed", "status")}[fail_on]
        return [r for r in self.rows if r.verdict in FAILING and r.kind in kinds]

    def exit_code(self, fail_on: str = "any") -> int:
        return 1 if self.failing(fail_on) else 0

    def as_dict(self, fail_on: str = "any") -> dict[str, Any]:
        return {
            "baseline": {"label": self.baseline_label, "machine": self.baseline_machine},
            "current": {"label": self.current_label, "machine": self.current_machine},
            "summary": self.counts(),
            "fail_on": fail_on,
            "exit_code": self.exit_code(fail_on),
            "notes": self.notes,
            "rows": [{**asdict(r), "label": r.label} for r in self.rows],
        }


def _values(records: Sequence[dict[str, Any]], metric: str) -> list[float]:
    out = []
    for r in records:
        v = r.get(metric)
        if is_number(v):
            out.append(float(v))
    return out


def _std(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def quality_row(model: str, dataset: str, metric: str, base: list[float], cur: list[float],
                s: dict[str, Any]) -> Row:
    mb, mc = statistics.fmean(base), statistics.fmean(cur)
    thr = max(float(s["abs_floor"]), float(s["k_std"]) * pooled_std(base, cur))
    delta = mc - mb
    good = delta if s["higher_is_better"] else -delta
    verdict = "worse" if good < -(thr + _EPS) else "better" if good > thr + _EPS else "same"
    return Row(model, dataset, metric, "quality", "seeds", verdict, mb, mc, _std(base), _std(cur),
               len(base), len(cur), delta, 100 * delta / abs(mb) if mb else None, thr, None,
               bool(s["higher_is_better"]))


def speed_row(model: str, dataset: str, metric: str, base: list[float], cur: list[float],
              s: dict[str, Any], basis: str) -> Row:
    """Medians; beyond the relative threshold AND (when testable) Mann-Whitney p <= alpha."""
    higher = bool(s["higher_is_better"])
    rel = float(s["rel_control"] if basis == "control" else s["rel"])
    alpha = float(s["alpha"])
    mb, mc = statistics.median(base), statistics.median(cur)
    row = Row(model, dataset, metric, "speed", basis, "same", mb, mc, _std(base), _std(cur),
              len(base), len(cur), mc - mb, None, rel, None, higher)
    if mb <= 0:
        row.verdict, row.note = "not comparable", "baseline value is not positive"
        return row
    change = (mc - mb) / mb
    row.delta_pct = 100 * change
    good = change if higher else -change
    if abs(good) <= rel + _EPS:
        return row
    if len(base) >= 2 and len(cur) >= 2:  # repeats on both sides: the test must agree
        if min_exact_p(len(base), len(cur)) > alpha + _EPS:
            row.verdict = "not comparable"
            row.note = (f"beyond {rel:.0%}, but {len(base)} vs {len(cur)} runs cannot reach p <= {alpha:g} "
                        f"(min p {min_exact_p(len(base), len(cur)):.2f}); use 3+ seeds per side")
            return row
        row.p_value = mann_whitney_p(cur, base, current_lower=mc < mb)
        if row.p_value > alpha + _EPS:
            row.note = f"beyond {rel:.0%} but not significant (p > {alpha:g})"
            return row
    else:
        row.note = "single run on a side: threshold only, no significance test"
    row.verdict = "better" if good > 0 else "worse"
    return row


def status_row(model: str, dataset: str, base: list[dict], cur: list[dict]) -> Row | None:
    bf = [r for r in base if r.get("status", "ok") != "ok"]
    cf = [r for r in cur if r.get("status", "ok") != "ok"]
    if not bf and not cf:
        return None
    row = Row(model, dataset, "failed runs", "status", "runs", "same", len(bf), len(cf),
              n_baseline=len(base), n_current=len(cur), delta=len(cf) - len(bf))
    if cf and not bf:
        row.verdict = "worse"
    elif bf and not cf:
        row.verdict = "better"
    err = next((r.get("error") for r in cf if r.get("error")), None)
    row.note = f"current: {err}" if err else ""
    return row


def _machines(records: Sequence[dict[str, Any]]) -> set:
    return {machine_id(r.get("environment")) for r in records}


def _control(record: dict[str, Any], name: str) -> float | None:
    v = ((record.get("environment") or {}).get("control") or {}).get(name)
    return float(v) if is_number(v) and v > 0 else None


def _normalised(records: Sequence[dict[str, Any]], metric: str, control: str,
                higher: bool) -> list[float] | None:
    """Per-record speed in control units: throughput / control, time * control; None if a control
    value is missing."""
    out = []
    for r in records:
        v = r.get(metric)
        if not is_number(v):
            continue
        c = _control(r, control)
        if c is None:
            return None
        out.append(float(v) / c if higher else float(v) * c)
    return out


def control_drift(base: Sequence[dict[str, Any]], cur: Sequence[dict[str, Any]], name: str) -> float | None:
    """Relative change of the median control benchmark from baseline to current; None if missing."""
    cb = [c for c in (_control(r, name) for r in base) if c is not None]
    cc = [c for c in (_control(r, name) for r in cur) if c is not None]
    if not cb or not cc:
        return None
    return statistics.median(cc) / statistics.median(cb) - 1


def _speed_rows(model: str, dataset: str, metric: str, base: list[dict], cur: list[dict],
                s: dict[str, Any]) -> list[Row]:
    vb, vc = _values(base, metric), _values(cur, metric)
    if not vb and not vc:
        return []
    if not vb or not vc:
        return [_one_sided(model, dataset, metric, "speed", "raw", vb, vc, bool(cur))]
    mb, mc = _machines(base), _machines(cur)
    med_b, med_c = statistics.median(vb), statistics.median(vc)
    raw = Row(model, dataset, metric, "speed", "raw", "not comparable", med_b, med_c, n_baseline=len(vb),
              n_current=len(vc), delta=med_c - med_b, delta_pct=100 * (med_c / med_b - 1) if med_b else None,
              higher_is_better=bool(s["higher_is_better"]))
    if len(mb) == 1 and mb == mc and None not in mb:
        drift = control_drift(base, cur, s["control"])
        if drift is None or abs(drift) <= float(s["control_drift"]) + _EPS:
            return [speed_row(model, dataset, metric, vb, vc, s, "raw")]
        # A transient change (load, throttling) that a start-of-run control cannot correct.
        raw.note = (f"same machine, but its control benchmark changed {drift:+.0%} between the runs "
                    "(other load?); re-run both on a quiet machine")
        return [raw]
    why = ("machine unknown" if None in mb | mc else
           "mixed machines" if len(mb) > 1 or len(mc) > 1 else "different machines")
    raw.note = f"{why}; see the control-normalised row"
    higher = bool(s["higher_is_better"])
    nb, nc = _normalised(base, metric, s["control"], higher), _normalised(cur, metric, s["control"], higher)
    other_cpu = _different_processors(base, cur)
    if nb is None or nc is None or not nb or not nc:
        no_control = f"no control benchmark in {'baseline' if nb is None else 'current'}"
        raw.note = (f"{NOT_COMPARABLE_CPU} ({other_cpu}), {no_control}; {AB_HINT}" if other_cpu
                    else f"{why} and {no_control}")
        return [raw]
    norm = speed_row(model, dataset, metric, nb, nc, s, "control")
    norm.note = (f"{'÷' if higher else '×'} {s['control']} (control benchmark of the same run)"
                 + (f"; {norm.note}" if norm.note else ""))
    if other_cpu:
        # A control benchmark cannot normalise across CPU generations (issue 12: 8 worse and 42
        # better rows for an unchanged commit): the ratio stays as information, without a verdict.
        raw.note = f"{NOT_COMPARABLE_CPU} ({other_cpu}); {AB_HINT}"
        norm.note = (f"{NOT_COMPARABLE_CPU}; information only, would read "
                     f"{norm.verdict if norm.verdict != 'not comparable' else 'inconclusive'}; {norm.note}")
        norm.verdict = "not comparable"
    return [raw, norm]


NOT_COMPARABLE_CPU = "not comparable (different CPU)"
AB_HINT = "compare speed on one machine with: python -m benchmarks ab BASE_REV"


def processor(env: dict[str, Any] | None) -> tuple | None:
    """The processor a speed was measured on: device kind, CPU model and GPU models; None if unknown."""
    env = env or {}
    if env.get("cpu_model") is None and not env.get("gpus"):
        return None
    return (env.get("device_kind"), env.get("cpu_model"), tuple(env.get("gpus") or ()))


def _different_processors(base: Sequence[dict[str, Any]], cur: Sequence[dict[str, Any]]) -> str:
    """A description of how the processors differ between the sides (any record), or ''."""
    pb = {processor(r.get("environment")) for r in base} - {None}
    pc = {processor(r.get("environment")) for r in cur} - {None}
    if not pb or not pc or pb == pc and len(pb) == 1:
        return ""

    def name(p: tuple) -> str:
        return ", ".join(p[2]) if p[2] else str(p[1])
    return f"{' / '.join(sorted(map(name, pb)))} vs {' / '.join(sorted(map(name, pc)))}"


def _one_sided(model: str, dataset: str, metric: str, kind: str, basis: str, vb: list[float],
               vc: list[float], current_ran: bool) -> Row:
    """A metric with values on one side only: ``missing`` when the current run ran and lacks it."""
    row = Row(model, dataset, metric, kind, basis, "not comparable", n_baseline=len(vb), n_current=len(vc))
    if not vb:
        row.note = "no value in baseline"
    elif current_ran:
        row.verdict, row.note = "missing", "no value in current"
    else:
        row.note = "no successful run in current (see failed runs)"
    return row


def _missing_pair(model: str, dataset: str, base: list[dict], th: Thresholds,
                  metrics: Sequence[str]) -> list[Row]:
    """One ``missing`` row per enabled metric the baseline has for a pair the current run lacks."""
    ok_b = [r for r in base if r.get("status", "ok") == "ok"]
    rows = []
    for metric in metrics:
        s = th.settings(model, dataset, metric)
        vb = _values(ok_b, metric)
        if s["enabled"] and vb:
            rows.append(Row(model, dataset, metric, s["kind"], "seeds" if s["kind"] == "quality" else "raw",
                            "missing", n_baseline=len(vb), note="pair not in current"))
    return rows


def compare_records(
    baseline: Sequence[dict[str, Any]],
    current: Sequence[dict[str, Any]],
    thresholds: Thresholds | None = None,
    metrics: Sequence[str] | None = None,
    *,
    baseline_label: str = "baseline",
    current_label: str = "current",
    baseline_machine: dict[str, Any] | None = None,
    current_machine: dict[str, Any] | None = None,
) -> Comparison:
    """Compare two record lists per (model, dataset); raises OncobenchError without overlap."""
    th = thresholds or Thresholds.load()
    metrics = list(metrics) if metrics else th.quality_metrics + th.speed_metrics
    gb, gc = group_records(baseline), group_records(current)
    common = [k for k in gb if k in gc]
    if not common:
        def names(g):
            return ", ".join(sorted(f"{m}/{d}" for m, d in g)) or "none"
        raise OncobenchError(f"no (model, dataset) pair in both {baseline_label} ({names(gb)}) and "
                             f"{current_label} ({names(gc)}); compare runs of the same benchmarks")
    cmp = Comparison(baseline_label, current_label, baseline_machine or {}, current_machine or {})
    for key in sorted(set(gb) | set(gc), key=lambda k: (str(k[1]), str(k[0]))):
        model, dataset = key
        if key not in gb or key not in gc:
            side = "baseline" if key in gb else "current"
            cmp.rows.append(Row(model, dataset, "-", "status", "runs", "not comparable",
                                n_baseline=len(gb.get(key, [])), n_current=len(gc.get(key, [])),
                                note=f"only in {side}"))
            if key in gb:
                cmp.rows.extend(_missing_pair(model, dataset, gb[key], th, metrics))
            continue
        base, cur = gb[key], gc[key]
        status = status_row(model, dataset, base, cur)
        if status:
            cmp.rows.append(status)
        ok_b = [r for r in base if r.get("status", "ok") == "ok"]
        ok_c = [r for r in cur if r.get("status", "ok") == "ok"]
        for metric in metrics:
            s = th.settings(model, dataset, metric)
            if not s["enabled"]:
                continue
            if s["kind"] == "speed":
                cmp.rows.extend(_speed_rows(model, dataset, metric, ok_b, ok_c, s))
                continue
            vb, vc = _values(ok_b, metric), _values(ok_c, metric)
            if vb and vc:
                cmp.rows.append(quality_row(model, dataset, metric, vb, vc, s))
            elif vb or vc:
                cmp.rows.append(_one_sided(model, dataset, metric, "quality", "seeds", vb, vc, bool(ok_c)))
    profiles = ({r.get("profile") for r in baseline} - {None}, {r.get("profile") for r in current} - {None})
    if profiles[0] and profiles[1] and profiles[0] != profiles[1]:
        cmp.notes.append(f"profiles differ (baseline {', '.join(sorted(profiles[0]))}, current "
                         f"{', '.join(sorted(profiles[1]))}): quality differences may come from the profile")
    return cmp

