"""Comparison tables (tabulate) and the run's summary.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.markup import md
from benchmarks.metrics import catalogue as metric_catalogue
from benchmarks.records.federated import model_label
from benchmarks.records.results import is_ok
from benchmarks.records.stats import aggregate

TABLE_METRICS = ("accuracy", "f1_macro", "roc_auc", "train_time_s", "train_samples_per_s",
                 "inference_samples_per_s", "latency_ms_p50")
# shown when some record has them (run --explain / explain)
OPTIONAL_METRICS = ("faithfulness", "explain_time_s")
# Headers and digits come from the metric catalogue.
# Federated runs in the records add these columns (accuracy_gap: federated minus centralised).
FEDERATED_METRICS = ("accuracy_gap", "bytes_total")
_CATALOGUED = TABLE_METRICS + OPTIONAL_METRICS + FEDERATED_METRICS[1:]
HEADERS = {m: metric_catalogue.get(m).header for m in _CATALOGUED}
HEADERS["accuracy_gap"] = "accuracy gap to central"
DIGITS = {m: metric_catalogue.get(m).digits for m in _CATALOGUED}
DIGITS["accuracy_gap"] = 3


def table_metrics(records: list[dict[str, Any]]) -> tuple[str, ...]:
    """``TABLE_METRICS`` plus the optional metrics some record holds, and the federated ones when a
    federated record is present."""
    federated = any(r.get("fed_label") for r in records)
    return (TABLE_METRICS + tuple(m for m in OPTIONAL_METRICS if any(r.get(m) is not None for r in records))
            + (FEDERATED_METRICS if federated else ()))


DEGENERATE_MARK = "!"  # after a mean that includes degenerate runs (see the record's `degenerate`)
QUALITY_MARKED = {m for m in TABLE_METRICS if metric_catalogue.get(m).kind == "quality"}
PUBLISHED_METRICS = ("accuracy", "roc_auc")


def degenerate_count(records: list[dict[str, Any]]) -> int:
    """How many finished runs were flagged degenerate (one class predicted, or chance)."""
    return sum(1 for r in records if is_ok(r) and r.get("degenerate"))


def published_best(dataset: str) -> dict[str, tuple[float, str]]:
    """metric -> (best published value, method) for ``dataset``'s published results, from its
    spec (``get_dataset(name).published``); empty when it has none."""
    from benchmarks.records.published import published_for

    best: dict[str, tuple[float, str]] = {}
    for p in published_for(str(dataset))[0]:
        for metric, value in (("accuracy", p.accuracy_high or p.accuracy), ("roc_auc", p.roc_auc)):
            if value is not None and (metric not in best or value > best[metric][0]):
                best[metric] = (float(value), p.model)
    return best


def published_delta(mean: float | None, best: tuple[float, str] | None) -> str:
    """``"+0.012 vs 0.863"``: the measured mean minus the best published value, or "n/a"."""
    if mean is None or best is None:
        return "n/a"
    return f"{mean - best[0]:+.3f} vs {best[0]:.3f}"


def comparison_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """One row per (dataset, model): mean ± std over seeds/folds (marked ``!`` when degenerate
    runs are among them), the degenerate count, the delta to the best published figure, device.
    A federated run is its own row, labelled e.g. ``cnn · fedavg (5 clients, dirichlet 0.5)``."""
    rows = []
    devices: dict[tuple, str] = {}
    groups: dict[tuple, list[dict[str, Any]]] = {}
    metrics = table_metrics(records)
    records = [{**r, "model": model_label(r)} for r in records]
    for r in records:
        devices.setdefault((r.get("model"), r.get("dataset")), r.get("device_kind") or "n/a")
        groups.setdefault((r.get("model"), r.get("dataset")), []).append(r)
        if (r.get("jobs_beside") or 1) > 1:  # --jobs N: speed taken beside other jobs
            devices[(r.get("model"), r.get("dataset"))] = f"{r.get('device_kind') or 'n/a'}, " \
                f"{r['jobs_beside']} jobs at once"
    agg = aggregate(records, metrics, by=("model", "dataset"))
    agg.sort(key=lambda a: (str(a["dataset"]), str(a["model"])))
    published = {d: published_best(d) for d in {a["dataset"] for a in agg}}
    for a in agg:
        pair = (a["model"], a["dataset"])
        runs = f"{a['runs'] - a['failed']}" + (f" ({a['failed']} failed)" if a["failed"] else "")
        n_bad = degenerate_count(groups.get(pair, []))
        mark = f" {DEGENERATE_MARK}" if n_bad else ""
        cells = [a[m].fmt(DIGITS[m]) + (mark if m in QUALITY_MARKED else "") for m in metrics]
        best = published[a["dataset"]]
        deltas = [published_delta(a[m].mean, best.get(m)) for m in PUBLISHED_METRICS]
        rows.append([a["dataset"], a["model"], runs] + cells
                    + [f"{n_bad}/{a['runs'] - a['failed']}" if n_bad else "0"] + deltas + [devices[pair]])
    return rows


MARKDOWN_FORMATS = ("github", "pipe")


def comparison_table(records: list[dict[str, Any]], fmt: str = "simple") -> str:
    """The comparison table in a tabulate format; Markdown formats get their cells escaped."""
    from tabulate import tabulate

    headers = (["dataset", "model", "runs"] + [HEADERS[m] for m in table_metrics(records)] + ["degenerate"]
               + [f"Δ {HEADERS[m]} vs published best" for m in PUBLISHED_METRICS] + ["device"])
    rows = comparison_rows(records)
    if fmt in MARKDOWN_FORMATS:
        rows = [[md(c) for c in row] for row in rows]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def write_summary(records: list[dict[str, Any]], meta: dict[str, Any], path: Path) -> None:
    """summary.md: the comparison table (mean ± std over seeds) and the environment.

    Every data value is escaped (``benchmarks.core.markup.md``): file names can hold Markdown or HTML.
    """
    env = meta.get("environment", {})

    def m(d: dict[str, Any], key: str) -> str:
        return md(d.get(key, "n/a"))

    lines = [
        f"# oncobench run {md(path.parent.name)}",
        "",
        f"- command: {m(meta, 'command')}",
        f"- profile: {m(meta, 'profile')}; seeds: {m(meta, 'seeds')}",
        f"- device: {m(env, 'device_kind')} ({m(env, 'device_name')}); "
        f"TensorFlow {m(env, 'tensorflow')}, Keras {m(env, 'keras')}; "
        f"threads {m(env, 'intra_op_threads')}; git {m(env, 'git_commit')}",
        f"- started {m(meta, 'started_at')}",
        "",
        "Values are mean ± sample std over seeds (a single run shows its value alone).",
        f"A quality mean marked {DEGENERATE_MARK} includes degenerate runs (test predictions >= 95% "
        "one class, or balanced accuracy at chance); the degenerate column counts them. "
        "Δ vs published best: our mean minus the best figure published for the data set "
        "(published, not measured here; see the report for methods and settings).",
        "",
        comparison_table(records, "github"),
        "",
    ]
    degenerate = [r for r in records if is_ok(r) and r.get("degenerate")]
    if degenerate:
        lines += ["## Degenerate runs", ""]
        lines += [f"- {md(r.get('key'))}: {md(r.get('degenerate'))}" for r in degenerate] + [""]
    failed = [r for r in records if not is_ok(r)]
    if failed:
        lines += ["## Failed runs", ""]
        lines += [f"- {md(r.get('key'))}: {md(r.get('error'))}" for r in failed] + [""]
    atomic_write_text(path, "\n".join(lines))


def finish(store: Any) -> None:
    """results.csv and summary.md from what a ``ResultsStore`` holds (also after Ctrl-C or a data
    error)."""
    from benchmarks.records.results import write_csv

    write_csv(store.records, store.run_dir / "results.csv")
    write_summary(store.records, store.meta, store.run_dir / "summary.md")
