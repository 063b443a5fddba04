"""Comparison tables (tabulate) and the run's summary.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.atomic import atomic_write_text
from benchmarks.markup import md
from benchmarks.metrics import catalogue as metric_catalogue
from benchmarks.results import is_ok
from benchmarks.stats import aggregate

TABLE_METRICS = ("accuracy", "f1_macro", "roc_auc", "train_time_s", "train_samples_per_s",
                 "inference_samples_per_s", "latency_ms_p50")
OPTIONAL_METRICS = ("faithfulness",)  # shown when some record has them (run --explain / explain)
# Headers and digits come from the metric catalogue.
HEADERS = {m: metric_catalogue.get(m).header for m in TABLE_METRICS + OPTIONAL_METRICS}
DIGITS = {m: metric_catalogue.get(m).digits for m in TABLE_METRICS + OPTIONAL_METRICS}


def table_metrics(records: list[dict[str, Any]]) -> tuple[str, ...]:
    """``TABLE_METRICS`` plus the optional metrics some record holds."""
    return TABLE_METRICS + tuple(m for m in OPTIONAL_METRICS if any(r.get(m) is not None for r in records))


def comparison_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """One row per (dataset, model): mean ± std over seeds/folds, then device."""
    rows = []
    devices: dict[tuple, str] = {}
    for r in records:
        devices.setdefault((r.get("model"), r.get("dataset")), r.get("device_kind") or "n/a")
        if (r.get("jobs_beside") or 1) > 1:  # --jobs N: speed taken beside other jobs
            devices[(r.get("model"), r.get("dataset"))] = f"{r.get('device_kind') or 'n/a'}, " \
                f"{r['jobs_beside']} jobs at once"
    metrics = table_metrics(records)
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

    headers = ["dataset", "model", "runs"] + [HEADERS[m] for m in table_metrics(records)] + ["device"]
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
