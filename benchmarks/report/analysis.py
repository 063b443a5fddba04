"""What the report says, as data: per-dataset comparison rows, best values, Pareto front,
median-seed runs, failed runs and the environment. Renderers (Markdown, HTML) only format it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from benchmarks.metrics import Metric
from benchmarks.metrics import catalogue as metric_catalogue
from benchmarks.records.published import PublishedResult, published_for
from benchmarks.records.results import is_ok
from benchmarks.records.stats import Summary, group_records, summarize, t_interval
from benchmarks.records.tables import DEGENERATE_MARK

NA = "n/a"


@dataclass(frozen=True)
class Column:
    """A comparison-table column: a record field; header, direction and format from the catalogue."""

    field: str

    @property
    def metric(self) -> Metric:
        return metric_catalogue.get(self.field)

    @property
    def header(self) -> str:
        return self.metric.header

    @property
    def better(self) -> str:
        """``"max"`` or ``"min"``."""
        return self.metric.direction

    @property
    def kind(self) -> str:
        """``"score"`` (quality: fixed decimals), ``"count"`` (integer) or ``"number"`` (3 significant
        figures)."""
        m = self.metric
        return "score" if m.kind == "quality" else "count" if m.unit == "count" else "number"

    @property
    def digits(self) -> int:
        return self.metric.digits


COLUMNS: tuple[Column, ...] = tuple(Column(name) for name in (
    "accuracy", "f1_macro", "roc_auc", "train_time_s", "train_samples_per_s", "inference_samples_per_s",
    "params"))


def fmt_value(value: float | None, kind: str, digits: int = 3) -> str:
    """A number for a table: scores with ``digits`` decimals, others with 3 significant figures."""
    if value is None or not math.isfinite(value):
        return NA
    if kind == "score":
        return f"{value:.{digits}f}"
    if kind == "count" or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_summary(s: Summary, kind: str, digits: int = 3) -> str:
    """``mean [low, high]`` (95% CI) when there is an interval, else the mean, else n/a.

    Counts (parameters) show the mean alone; score intervals are clipped to [0, 1].
    """
    mean = fmt_value(s.mean, kind, digits)
    if s.mean is None or s.ci_low is None or s.ci_high is None or kind == "count":
        return mean
    lo, hi = (max(s.ci_low, 0.0), min(s.ci_high, 1.0)) if kind == "score" else (s.ci_low, s.ci_high)
    return f"{mean} [{fmt_value(lo, kind, digits)}, {fmt_value(hi, kind, digits)}]"


def number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, null, text, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def safe_summary(records: list[dict[str, Any]], metric: str) -> Summary:
    """``stats.summarize``; on malformed stored scores, the t interval of the values alone."""
    try:
        return summarize(records, metric)
    except (ValueError, TypeError, IndexError, KeyError):
        return t_interval([v for r in records if is_ok(r) and (v := number(r.get(metric))) is not None])


def name_of(value: Any) -> str:
    return NA if value is None or value == "" else str(value)


def run_label(record: dict[str, Any]) -> str:
    """``seed 2`` or ``seed 2, fold 1``."""
    fold = record.get("fold")
    return f"seed {name_of(record.get('seed'))}" + ("" if fold is None else f", fold {fold}")


def run_order(record: dict[str, Any]) -> tuple:
    """Sort key: seed, then fold, numerically (missing last)."""
    seed, fold = record.get("seed"), record.get("fold")
    return (number(seed) if number(seed) is not None else math.inf,
            number(fold) if number(fold) is not None else -1)


def median_record(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The successful run whose accuracy is closest to the median (ties: lowest seed)."""
    ok = sorted((r for r in records if is_ok(r)), key=run_order)
    if not ok:
        return None
    scored = [r for r in ok if number(r.get("accuracy")) is not None]
    if not scored:
        return ok[0]
    accs = sorted(number(r["accuracy"]) for r in scored)
    mid = len(accs) // 2
    median = accs[mid] if len(accs) % 2 else (accs[mid - 1] + accs[mid]) / 2
    return min(scored, key=lambda r: (abs(number(r["accuracy"]) - median), run_order(r)))


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Models not dominated in (training time: lower is better, accuracy: higher is better).

    ``points`` maps model -> (time, accuracy); the front is returned by increasing time.
    """
    front = []
    for m, (t, a) in points.items():
        dominated = any(t2 <= t and a2 >= a and (t2 < t or a2 > a)
                        for m2, (t2, a2) in points.items() if m2 != m)
        if not dominated:
            front.append(m)
    return sorted(front, key=lambda m: (points[m][0], -points[m][1], m))


@dataclass
class ModelRow:
    """One model on one dataset: run counts and a Summary per column."""

    model: str
    records: list[dict[str, Any]]
    summaries: dict[str, Summary]
    best: set[str] = field(default_factory=set)

    @property
    def n_ok(self) -> int:
        return sum(1 for r in self.records if is_ok(r))

    @property
    def n_failed(self) -> int:
        return len(self.records) - self.n_ok

    @property
    def n_degenerate(self) -> int:
        return sum(1 for r in self.records if is_ok(r) and r.get("degenerate"))

    def runs_text(self) -> str:
        notes = [f"{self.n_failed} failed"] if self.n_failed else []
        if self.n_degenerate:
            notes.append(f"{self.n_degenerate} degenerate {DEGENERATE_MARK}")
        return f"{self.n_ok}" + (f" ({', '.join(notes)})" if notes else "")

    def ci_text(self) -> str:
        """How the quality intervals were obtained."""
        methods = {self.summaries[c.field].method for c in COLUMNS if c.kind == "score"} - {"none"}
        if "t" in methods:
            return f"t over {self.n_ok} runs"
        if "bootstrap" in methods:
            return "bootstrap over test samples"
        return NA

    def cell(self, column: Column) -> str:
        text = fmt_summary(self.summaries[column.field], column.kind, column.digits)
        return f"{text} {DEGENERATE_MARK}" if self.n_degenerate and column.kind == "score" else text


@dataclass
class DatasetSection:
    """Everything the report shows for one dataset."""

    name: str
    rows: list[ModelRow]
    facts: dict[str, Any]
    class_names: list[str]
    pareto: list[str]
    pareto_points: dict[str, tuple[float, float]]
    median: dict[str, dict[str, Any]]
    published: tuple[PublishedResult, ...]
    published_note: str

    @property
    def binary(self) -> bool:
        return len(self.class_names) == 2


def _mark_best(rows: list[ModelRow]) -> None:
    """Mark, per column, every row whose displayed mean equals the best displayed mean."""
    for col in COLUMNS:
        means = [(r, r.summaries[col.field].mean) for r in rows]
        means = [(r, m) for r, m in means if m is not None]
        if len(means) < 2:
            continue
        best = (max if col.better == "max" else min)(m for _, m in means)
        shown = fmt_value(best, col.kind, col.digits)
        for r, m in means:
            if fmt_value(m, col.kind, col.digits) == shown:
                r.best.add(col.field)


def _facts(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Data facts (modality, sizes, source, citation) from the first record that has them."""
    for r in records:
        data = r.get("data")
        if isinstance(data, dict) and data:
            return {"modality": r.get("modality"), **data}
    return {"modality": records[0].get("modality")} if records else {}


def _class_names(records: list[dict[str, Any]]) -> list[str]:
    for r in records:
        names = r.get("class_names") or (r.get("data") or {}).get("class_names")
        if isinstance(names, list) and names:
            return [str(n) for n in names]
    for r in records:
        cm = r.get("confusion_matrix")
        if isinstance(cm, list) and cm:
            return [str(i) for i in range(len(cm))]
    return []


TUNED_SUFFIX = " (tuned)"


def row_label(record: dict[str, Any]) -> str:
    """The row a record belongs to: its model, or ``model (tuned)`` when its hyper-parameters came
    from ``tune`` (``run --tuned``): default and tuned runs show side by side."""
    return name_of(record.get("model")) + (TUNED_SUFFIX if record.get("tuned") else "")


def dataset_section(name: str, records: list[dict[str, Any]]) -> DatasetSection:
    """The comparison rows, best marks, Pareto front and median runs for one dataset."""
    by_model: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        by_model.setdefault((row_label(r),), []).append(r)
    rows = []
    for (model,), recs in sorted(by_model.items(), key=lambda kv: name_of(kv[0][0])):
        sums = {c.field: safe_summary(recs, c.field) for c in COLUMNS}
        rows.append(ModelRow(name_of(model), recs, sums))
    _mark_best(rows)
    points = {}
    for r in rows:
        t, a = r.summaries["train_time_s"].mean, r.summaries["accuracy"].mean
        if t is not None and a is not None:
            points[r.model] = (t, a)
    median = {r.model: m for r in rows if (m := median_record(r.records)) is not None}
    published, note = published_for(name)
    return DatasetSection(name, rows, _facts(records), _class_names(records), pareto_front(points),
                          points, median, published, note)


def sections(records: list[dict[str, Any]]) -> list[DatasetSection]:
    """One section per dataset, sorted by name."""
    by_ds = group_records(records, by=("dataset",))
    return [dataset_section(name_of(ds), recs)
            for (ds,), recs in sorted(by_ds.items(), key=lambda kv: name_of(kv[0][0]))]


def failed_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if not is_ok(r)]


def environment(meta: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's environment: the run meta's, else the first record's, else empty."""
    env = meta.get("environment")
    if isinstance(env, dict) and env:
        return env
    for r in records:
        if isinstance(r.get("environment"), dict) and r["environment"]:
            return r["environment"]
    return {}


def devices_seen(records: list[dict[str, Any]]) -> list[str]:
    """Distinct ``kind (name)`` devices across records, in first-seen order."""
    seen = [f"{name_of(r.get('device_kind'))} ({name_of(r.get('device_name'))})" for r in records
            if r.get("device_kind") or r.get("device_name")]
    return list(dict.fromkeys(seen))


def all_models(records: list[dict[str, Any]]) -> list[str]:
    """Every model row label in the results (``model``, ``model (tuned)``), sorted: the order
    behind the fixed colour mapping."""
    return sorted({row_label(r) for r in records})
