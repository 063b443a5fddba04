"""``compare BASELINE CURRENT``: per (model, dataset) and metric, baseline vs current with a verdict
(better / same / worse / not comparable), as a table, GitHub markdown or JSON.

The comparison is a pure function of two record lists (``compare_records``):

- quality (accuracy, F1, ROC-AUC, ...): mean over seeds/folds per side; worse when the drop
  exceeds ``max(abs_floor, k_std * pooled_std)``;
- speed (throughput, latency, training time): median per side; raw values only when the
  machines match, else normalised by the control benchmark measured in the same run; worse
  when the relative change exceeds ``rel`` and, with repeats, a one-sided Mann-Whitney U test
  (exact) gives p <= alpha;
- status: a pair whose runs now fail (and did not) is worse.

Rules and defaults are in ``benchmarks/thresholds.toml``. Exit code 0: nothing worse; 1:
something worse; 2: bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Sequence

from benchmarks.atomic import atomic_write_text
from benchmarks.baseline import BASELINES_DIR, describe_machine, load_side, machine_id
from benchmarks.errors import OncobenchError
from benchmarks.results import COST_METRICS, FIELDS, QUALITY_METRICS

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")
VERDICTS = ("worse", "better", "same", "not comparable")
CONTROLS = ("ref_model_samples_per_s", "matmul_gflops")
FAIL_ON = ("any", "quality", "speed")
_EPS = 1e-12

# key -> (check, what a valid value looks like)
_SETTING_TYPES: dict[str, tuple[Any, str]] = {
    "abs_floor": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "k_std": (lambda v: _number(v) and v >= 0, "a number >= 0"),
    "rel": (lambda v: _number(v) and v >= 0, "a number >= 0 (0.05 = 5%)"),
    "rel_control": (lambda v: _number(v) and v >= 0, "a number >= 0 (0.10 = 10%)"),
    "alpha": (lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "control": (lambda v: v in CONTROLS, " or ".join(CONTROLS)),
    "control_drift": (lambda v: _number(v) and v >= 0, "a number >= 0 (0.15 = 15%)"),
    "higher_is_better": (lambda v: isinstance(v, bool), "true or false"),
    "enabled": (lambda v: isinstance(v, bool), "true or false"),
}
_KIND_KEYS = {"quality": {"metrics", "abs_floor", "k_std"},
              "speed": {"metrics", "rel", "rel_control", "alpha", "control", "control_drift"}}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# ----------------------------------------------------------------------------- thresholds

def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise OncobenchError("reading thresholds needs Python 3.11+ or the tomli package; "
                                 "pip install tomli") from None
    if not path.is_file():
        raise OncobenchError(f"{path}: no such thresholds file; pass a TOML file like "
                             f"{DEFAULT_THRESHOLDS.name}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OncobenchError(f"{path}: not valid TOML ({exc}); fix the file") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check_settings(where: str, table: Any, allowed: set[str], path: Path) -> None:
    if not isinstance(table, dict):
        raise OncobenchError(f"{path}: [{where}] must be a table of settings")
    for key, value in table.items():
        if key not in allowed:
            raise OncobenchError(f"{path}: unknown key {key!r} in [{where}]; "
                                 f"valid: {', '.join(sorted(allowed))}")
        if key == "metrics":
            bad = [m for m in value if m not in FIELDS] if isinstance(value, list) else [value]
            if bad:
                raise OncobenchError(f"{path}: [{where}] metrics: unknown metric(s) {bad}; "
                                     "use record fields such as accuracy, train_samples_per_s")
        elif not _SETTING_TYPES[key][0](value):
            raise OncobenchError(f"{path}: [{where}] {key} = {value!r}: expected {_SETTING_TYPES[key][1]}")


def _validate(doc: dict[str, Any], path: Path) -> None:
    unknown = set(doc) - {"quality", "speed", "metrics", "benchmarks"}
    if unknown:
        raise OncobenchError(f"{path}: unknown table(s) {sorted(unknown)}; valid: quality, speed, metrics, "
                             "benchmarks")
    metric_keys = set(_SETTING_TYPES)
    for kind in ("quality", "speed"):
        _check_settings(kind, doc.get(kind, {}), _KIND_KEYS[kind], path)
    for metric, table in doc.get("metrics", {}).items():
        if metric not in FIELDS:
            raise OncobenchError(f"{path}: [metrics.{metric}]: unknown metric; use a record field name")
        _check_settings(f"metrics.{metric}", table, metric_keys, path)
    for pattern, tables in doc.get("benchmarks", {}).items():
        if "/" not in pattern or not isinstance(tables, dict):
            raise OncobenchError(f"{path}: [benchmarks.{pattern!r}]: expected a \"MODEL/DATASET\" glob with "
                                 "quality / speed / METRIC sub-tables, e.g. [benchmarks.\"*/golub\".quality]")
        for name, table in tables.items():
            if name not in ("quality", "speed") and name not in FIELDS:
                raise OncobenchError(f"{path}: [benchmarks.{pattern!r}.{name}]: expected quality, speed or "
                                     "a metric name")
            _check_settings(f"benchmarks.{pattern!r}.{name}", table, metric_keys, path)


@dataclass(frozen=True)
class Thresholds:
    """Merged thresholds configuration (defaults plus an optional user file)."""

    doc: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Thresholds":
        doc = _read_toml(DEFAULT_THRESHOLDS)
        _validate(doc, DEFAULT_THRESHOLDS)
        if path is not None:
            user = _read_toml(Path(path))
            _validate(user, Path(path))
            doc = _merge(doc, user)
        return cls(doc)

    @property
    def quality_metrics(self) -> list[str]:
        return list(self.doc["quality"].get("metrics", []))

    @property
    def speed_metrics(self) -> list[str]:
        return list(self.doc["speed"].get("metrics", []))

    def kind_of(self, metric: str) -> str:
        """'quality' (higher is better, threshold on seed spread) or 'speed' (machine dependent)."""
        if metric in QUALITY_METRICS or metric in self.quality_metrics:
            return "quality"
        return "speed"

    def settings(self, model: str, dataset: str, metric: str) -> dict[str, Any]:
        """Settings for one metric of one benchmark: kind defaults, [metrics.M], then matching
        [benchmarks."MODEL/DATASET"] kind and metric tables in file order."""
        kind = self.kind_of(metric)
        out = {k: v for k, v in self.doc.get(kind, {}).items() if k != "metrics"}
        out["higher_is_better"] = True if kind == "quality" else _guess_higher(metric)
        out["enabled"] = True
        out.update(self.doc.get("metrics", {}).get(metric, {}))
        name = f"{model}/{dataset}"
        for pattern, tables in self.doc.get("benchmarks", {}).items():
            if fnmatchcase(name, pattern):
                out.update(tables.get(kind, {}))
                out.update(tables.get(metric, {}))
        out["kind"] = kind
        return out


def _guess_higher(metric: str) -> bool:
    """Throughputs (``*_per_s``) are better high; times, latencies and memory better low."""
    return metric.endswith("_per_s")


# ----------------------------------------------------------------------------- comparison

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

    def counts(self) -> dict[str, int]:
        return {v: sum(1 for r in self.rows if r.verdict == v) for v in VERDICTS}

    def failing(self, fail_on: str = "any") -> list[Row]:
        """Rows that make the exit code 1: worse rows of the kinds in ``fail_on`` (status always)."""
        kinds = {"any": ("quality", "speed", "status"), "quality": ("quality", "status"),
                 "speed": ("speed", "status")}[fail_on]
        return [r for r in self.rows if r.verdict == "worse" and r.kind in kinds]

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
        if _number(v):
            out.append(float(v))
    return out


def _std(values: Sequence[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


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


def _status_row(model: str, dataset: str, base: list[dict], cur: list[dict]) -> Row | None:
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
    return float(v) if _number(v) and v > 0 else None


def _normalised(records: Sequence[dict[str, Any]], metric: str, control: str,
                higher: bool) -> list[float] | None:
    """Per-record speed in control units: throughput / control, time * control; None if a control
    value is missing."""
    out = []
    for r in records:
        v = r.get(metric)
        if not _number(v):
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
        return [Row(model, dataset, metric, "speed", "raw", "not comparable", n_baseline=len(vb),
                    n_current=len(vc), note=f"no value in {'baseline' if not vb else 'current'}")]
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
    if nb is None or nc is None or not nb or not nc:
        raw.note = f"{why} and no control benchmark in {'baseline' if nb is None else 'current'}"
        return [raw]
    norm = speed_row(model, dataset, metric, nb, nc, s, "control")
    norm.note = (f"{'÷' if higher else '×'} {s['control']} (control benchmark of the same run)"
                 + (f"; {norm.note}" if norm.note else ""))
    return [raw, norm]


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
    from benchmarks.stats import group_records

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
            continue
        base, cur = gb[key], gc[key]
        status = _status_row(model, dataset, base, cur)
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
                cmp.rows.append(Row(model, dataset, metric, "quality", "seeds", "not comparable",
                                    n_baseline=len(vb), n_current=len(vc),
                                    note=f"no value in {'baseline' if not vb else 'current'}"))
    profiles = ({r.get("profile") for r in baseline} - {None}, {r.get("profile") for r in current} - {None})
    if profiles[0] and profiles[1] and profiles[0] != profiles[1]:
        cmp.notes.append(f"profiles differ (baseline {', '.join(sorted(profiles[0]))}, current "
                         f"{', '.join(sorted(profiles[1]))}): quality differences may come from the profile")
    return cmp


# ----------------------------------------------------------------------------- rendering

def _fmt(v: float | None, kind: str) -> str:
    if v is None:
        return ""
    if kind == "quality":
        return f"{v:.4f}"
    if kind == "status":
        return f"{v:g}"
    return f"{v:.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


def _cell(value: float | None, std: float | None, kind: str) -> str:
    s = _fmt(value, kind)
    return f"{s} ± {_fmt(std, kind)}" if s and std is not None and kind == "quality" else s


def _delta(r: Row) -> str:
    if r.delta is None:
        return ""
    s = _fmt(abs(r.delta), r.kind)
    return ("+" if r.delta >= 0 else "-") + s


def _threshold(r: Row) -> str:
    if r.threshold is None:
        return ""
    return f"{r.threshold:.4f}" if r.kind == "quality" else f"{r.threshold:.0%}"


GITHUB_VERDICT = {"worse": ":x: **worse**", "better": ":white_check_mark: better", "same": "same",
                  "not comparable": ":heavy_minus_sign: not comparable"}
HEADERS = ["model", "dataset", "metric", "n", "baseline", "current", "delta", "delta %", "threshold",
           "p", "verdict", "note"]


def table_rows(rows: Sequence[Row], github: bool = False) -> list[list[str]]:
    out = []
    for r in rows:
        out.append([
            r.model, r.dataset, r.label, f"{r.n_baseline}/{r.n_current}",
            _cell(r.baseline, r.baseline_std, r.kind), _cell(r.current, r.current_std, r.kind), _delta(r),
            "" if r.delta_pct is None else f"{r.delta_pct:+.1f}%", _threshold(r),
            "" if r.p_value is None else f"{r.p_value:.3f}",
            GITHUB_VERDICT[r.verdict] if github else r.verdict, r.note,
        ])
    return out


def summary_line(cmp: Comparison) -> str:
    c = cmp.counts()
    return (f"{c['worse']} worse, {c['better']} better, {c['same']} same, "
            f"{c['not comparable']} not comparable "
            f"({cmp.baseline_label}: {describe_machine(cmp.baseline_machine)}; "
            f"{cmp.current_label}: {describe_machine(cmp.current_machine)})")


LEGEND = ("quality: mean ± std over seeds, worse when the drop exceeds the threshold max(floor, k x pooled "
          "std); speed: median, worse when beyond the relative threshold and (with repeats) one-sided "
          "Mann-Whitney p <= alpha; /ctrl, *ctrl: normalised by the run's control benchmark.")


def render_text(cmp: Comparison) -> str:
    from tabulate import tabulate

    lines = [f"oncobench compare: {cmp.baseline_label} -> {cmp.current_label}: {summary_line(cmp)}", ""]
    lines.append(tabulate(table_rows(cmp.rows), headers=HEADERS, disable_numparse=True))
    lines += [f"note: {n}" for n in cmp.notes]
    return "\n".join(lines) + "\n"


MARKER = "<!-- oncobench-compare -->"


def render_github(cmp: Comparison) -> str:
    """A PR comment: summary header, the rows that changed, then every row in a <details>."""
    from tabulate import tabulate

    c = cmp.counts()
    icon = ":x:" if c["worse"] else ":white_check_mark:"
    lines = [MARKER, f"### {icon} oncobench compare: `{cmp.baseline_label}` → `{cmp.current_label}`", "",
             f"**{summary_line(cmp)}**", ""]
    changed = [r for r in cmp.rows if r.verdict in ("worse", "better")]
    changed.sort(key=lambda r: r.verdict != "worse")
    if changed:
        lines.append(tabulate(table_rows(changed, github=True), headers=HEADERS, tablefmt="github",
                              disable_numparse=True))
    else:
        lines.append("No change beyond the thresholds.")
    lines += ["", f"<details><summary>All {len(cmp.rows)} comparisons</summary>", "",
              tabulate(table_rows(cmp.rows, github=True), headers=HEADERS, tablefmt="github",
                       disable_numparse=True), "", "</details>", ""]
    lines += [f"> note: {n}" for n in cmp.notes]
    lines.append(f"<sub>{LEGEND}</sub>")
    return "\n".join(lines) + "\n"


def render(cmp: Comparison, fmt: str, fail_on: str = "any") -> str:
    if fmt == "json":
        return json.dumps(cmp.as_dict(fail_on), indent=1, allow_nan=False) + "\n"
    return render_github(cmp) if fmt == "github" else render_text(cmp)


# ----------------------------------------------------------------------------- command

def _metrics_arg(text: str | None, th: Thresholds) -> list[str] | None:
    if not text:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    known = set(QUALITY_METRICS) | set(COST_METRICS) | set(th.quality_metrics) | set(th.speed_metrics) \
        | set(th.doc.get("metrics", {}))
    bad = [m for m in names if m not in known]
    if bad:
        raise OncobenchError(f"--metrics: unknown metric(s) {', '.join(bad)}; "
                             f"valid: {', '.join(sorted(known))}")
    return names


def run(args: argparse.Namespace) -> int:
    th = Thresholds.load(args.thresholds)
    metrics = _metrics_arg(args.metrics, th)
    base = load_side(args.baseline, Path(args.baselines_dir))
    cur = load_side(args.current, Path(args.baselines_dir))
    cmp = compare_records(base.records, cur.records, th, metrics,
                          baseline_label=base.label, current_label=cur.label,
                          baseline_machine=base.machine, current_machine=cur.machine)
    fmt = "json" if args.json else args.format
    text = render(cmp, fmt, args.fail_on)
    if args.output:
        atomic_write_text(Path(args.output), text)
    sys.stdout.write(text)
    failing = cmp.failing(args.fail_on)
    if failing:
        names = ", ".join(sorted({f"{r.model}/{r.dataset} {r.label}" for r in failing}))
        print(f"regression: {names}", file=sys.stderr)
    return cmp.exit_code(args.fail_on)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare a run with a baseline: better / same / worse per metric",
        description="Compare CURRENT with BASELINE per (model, dataset) and metric. Exit code 0: nothing "
                    "worse; 1: something worse; 2: bad input. Thresholds: benchmarks/thresholds.toml.")
    p.add_argument("baseline", metavar="BASELINE",
                   help="baseline file, baseline name, run folder or results.json")
    p.add_argument("current", metavar="CURRENT", help="run folder, results.json or baseline")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--format", choices=("table", "github", "json"), default="table",
                     help="table (default), github (markdown for a PR comment) or json")
    fmt.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--output", help="also write the output to this file")
    p.add_argument("--thresholds", help=f"TOML file merged over the defaults ({DEFAULT_THRESHOLDS.name})")
    p.add_argument("--metrics", help="comma-separated metrics to compare (default: the thresholds file's)")
    p.add_argument("--fail-on", choices=FAIL_ON, default="any",
                   help="which worse rows give exit code 1: any (default), quality or speed "
                        "(runs that now fail always count)")
    p.add_argument("--baselines-dir", default=str(BASELINES_DIR),
                   help=f"where baseline names are looked up (default: {BASELINES_DIR})")
    p.set_defaults(func=run)
