"""Comparison tables (tabulate) and the run's summary.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.atomic import atomic_write_text
from benchmarks.federated.records import model_label
from benchmarks.markup import md
from benchmarks.metrics import catalogue as metric_catalogue
from benchmarks.results import is_ok
from benchmarks.stats import aggregate

TABLE_METRICS = ("accuracy", "f1_macro", "roc_auc", "train_time_s", "train_samples_per_s",
                 "inference_samples_per_s", "latency_ms_p50")
# Headers and digits come from the metric catalogue.
# Federated runs in the records add these columns (accuracy_gap: federated minus centralised).
FEDERATED_METRICS = ("accuracy_gap", "bytes_total")
HEADERS = {m: metric_catalogue.get(m).header for m in TABLE_METRICS + FEDERATED_METRICS[1:]}
HEADERS["accuracy_gap"] = "accuracy gap to central"
DIGITS = {m: metric_catalogue.get(m).digits for m in TABLE_METRICS + FEDERATED_METRICS[1:]}
DIGITS["accuracy_gap"] = 3


def _metrics(records: list[dict[str, Any]]) -> tuple[str, ...]:
    """The table's metric columns: the federated ones too when a federated record is present."""
    federated = any(r.get("fed_label") for r in records)
    return TABLE_METRICS + (FEDERATED_METRICS if federated else ())


def comparison_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """One row per (dataset, model): mean ± std over seeds/folds, then device. A federated run is
    its own row, labelled e.g. ``cnn · fedavg (5 clients, dirichlet 0.5)``."""
    rows = []
    devices: dict[tuple, str] = {}
    metrics = _metrics(records)
    records = [{**r, "model": model_label(r)} for r in records]
    for r in records:
        devices.setdefault((r.get("model"), r.get("dataset")), r.get("device_kind") or "n/a")
    agg = aggregate(records, metrics, by=("model", "dataset"))
    agg.sort(key=lambda a: (str(a["dataset"]), str(a["model"])))
    for a in agg:
        runs = f"{a['runs'] - a['failed']}" + (f" ({a['failed']} failed)" if a["failed"] else "")
        rows.append([a["dataset"], a["model"], runs]
                    + [a[m].fmt(DIGITS[m]) for m in metrics]
                    + [devices[(a["model"], a["dataset"])]])
    return rows


MARKDOWN_FORMATS = ("github", "pipe")


def comparison_table(records: list[dict[str, Any]], fmt: str = "simple") -> str:
    """The comparison table in a tabulate format; Markdown formats get their cells escaped."""
    from tabulate import tabulate

    headers = ["dataset", "model", "runs"] + [HEADERS[m] for m in _metrics(records)] + ["device"]
    rows = comparison_rows(records)
    if fmt in MARKDOWN_FORMATS:
        rows = [[md(c) for c in row] for row in rows]
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def write_summary(records: list[dict[str, Any]], meta: dict[str, Any], path: Path) -> None:
    """summary.md: the comparison table (mean ± std over seeds) and the environment.

    Every data value is escaped (``benchmarks.markup.md``): file names can hold Markdown or HTML.
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
        "",
        comparison_table(records, "github"),
        "",
    ]
    failed = [r for r in records if not is_ok(r)]
    if failed:
        lines += ["## Failed runs", ""]
        lines += [f"- {md(r.get('key'))}: {md(r.get('error'))}" for r in failed] + [""]
    atomic_write_text(path, "\n".join(lines))
