"""The report's text, format-neutral: tables as (headers, rows of cells) and notes.

A cell is ``(text, emphasis)``; emphasis marks the best value of a column. Markdown and
HTML renderers escape and mark up these cells; neither computes anything.
"""

from __future__ import annotations

from typing import Any

from benchmarks.metrics import catalogue as metric_catalogue
from benchmarks.records.published import PUBLISHED_LABEL, PublishedResult, cited
from benchmarks.records.results import is_ok
from benchmarks.records.tables import DEGENERATE_MARK, PUBLISHED_METRICS, published_best, published_delta
from benchmarks.report.analysis import (
    COLUMNS,
    NA,
    DatasetSection,
    devices_seen,
    fmt_value,
    name_of,
    number,
    row_label,
    run_order,
)
from benchmarks.report.model import Report

Cell = tuple[str, bool]
Table = tuple[list[str], list[list[Cell]]]

DEGENERATE_NOTE = (
    f"{DEGENERATE_MARK} after a score: the mean includes degenerate runs (test predictions >= 95% one "
    "class, or balanced accuracy at chance), counted in the runs column and listed in the appendix. "
    "Δ vs published: our mean minus the best published figure for this data set (published, not "
    "measured here; methods and settings in the published table)."
)
CI_NOTE = (
    "Each value is the mean over successful runs with its 95% confidence interval in brackets: "
    "Student t over seeds (and folds) when there are several runs; with a single run, a percentile "
    "bootstrap over the test samples (quality metrics only; costs then show the single value). "
    "Intervals of scores are clipped to [0, 1]; parameter counts show the mean. "
    "Bold: best in its column (highest accuracy, F1, ROC-AUC and throughput; lowest training time "
    "and parameter count). Throughput of scikit-learn models is training-set size / fit time."
)
PARETO_NOTE = "Pareto front (maximise mean accuracy, minimise mean training time): "


def _plain(text: Any) -> Cell:
    return (name_of(text), False)


def _fold(record: dict[str, Any]) -> Cell:
    return ("-" if record.get("fold") is None else str(record["fold"]), False)


def comparison_table(sec: DatasetSection) -> Table:
    """Per model: runs (failed / degenerate counted), each column's mean and CI, and the
    delta of the mean to the best published figure (when the data set has one)."""
    best = published_best(sec.name)
    shown = [m for m in PUBLISHED_METRICS if m in best]
    headers = ["model", "runs", *(c.header for c in COLUMNS), "95% CI"]
    headers += [f"Δ {metric_catalogue.get(m).header} vs published {best[m][0]:.3f} ({best[m][1]})"
                for m in shown]
    rows = []
    for row in sec.rows:
        cells = [_plain(row.model), _plain(row.runs_text())]
        cells += [(row.cell(c), c.field in row.best) for c in COLUMNS]
        cells.append(_plain(row.ci_text()))
        cells += [_plain(published_delta(row.summaries[m].mean if m in row.summaries else None, best[m]))
                  for m in shown]
        rows.append(cells)
    return headers, rows


def _accuracy_text(p: PublishedResult) -> str:
    if p.accuracy is None:
        return p.result or NA
    if p.accuracy_high is not None:
        return f"{p.accuracy:.3f}-{p.accuracy_high:.3f}"
    return f"{p.accuracy:.3f}"


def published_table(sec: DatasetSection) -> Table | None:
    if not sec.published:
        return None
    headers = ["method (published)", "setting", "accuracy", "ROC-AUC"]
    notes = any(p.note for p in sec.published)
    rows = []
    for p in sec.published:
        rows.append([_plain(p.model), _plain(p.setting), _plain(_accuracy_text(p)),
                     _plain(NA if p.roc_auc is None else f"{p.roc_auc:.3f}")]
                    + ([_plain(p.note)] if notes else []))
    return headers + (["note"] if notes else []), rows


def published_heading() -> str:
    return f"Published reference results ({PUBLISHED_LABEL})"


def published_citations(sec: DatasetSection) -> list[str]:
    return cited(sec.published)


def dataset_facts(sec: DatasetSection) -> list[str]:
    """One-line facts: modality, classes, split sizes, source and citation where known."""
    f = sec.facts
    sizes = "/".join(name_of(f.get(k)) for k in ("n_train", "n_val", "n_test"))
    lines = [f"modality: {name_of(f.get('modality'))}; classes ({len(sec.class_names)}): "
             f"{'; '.join(sec.class_names) or NA}; train/val/test samples: {sizes}"]
    for key in ("source", "citation", "preprocessing"):
        if f.get(key):
            lines.append(f"{key}: {f[key]}")
    return lines


def pareto_text(sec: DatasetSection) -> str:
    return PARETO_NOTE + (", ".join(sec.pareto) if sec.pareto else NA)


def _join(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "none"
    return name_of(value)


def _control(env: dict[str, Any], key: str, unit: str) -> str:
    v = number((env.get("control") or {}).get(key)) if isinstance(env.get("control"), dict) else None
    return NA if v is None else f"{fmt_value(v, 'number')} {unit}"


def environment_rows(report: Report) -> list[tuple[str, str]]:
    env, meta = report.env, report.meta
    finished = [r.get("finished_at") for r in report.records if isinstance(r.get("finished_at"), str)]
    rows = [
        ("run", report.run_id),
        ("command", name_of(report.command)),
        ("profile", name_of(meta.get("profile"))),
        ("seeds", _join(meta.get("seeds"))),
        ("started", name_of(meta.get("started_at"))),
        ("last run finished", max(finished) if finished else NA),
        ("report written", report.generated_at),
        ("device", f"{name_of(env.get('device_kind'))} ({name_of(env.get('device_name'))})"),
        ("GPUs", _join(env.get("gpus"))),
        ("CPU", f"{name_of(env.get('cpu_model'))} ({name_of(env.get('cpu_count'))} logical cores)"),
        ("TensorFlow threads", f"intra-op {name_of(env.get('intra_op_threads'))}, "
                               f"inter-op {name_of(env.get('inter_op_threads'))}"),
        ("TensorFlow", name_of(env.get("tensorflow"))),
        ("Keras", name_of(env.get("keras"))),
        ("scikit-learn", name_of(env.get("scikit_learn"))),
        ("NumPy", name_of(env.get("numpy"))),
        ("Python", name_of(env.get("python"))),
        ("platform", name_of(env.get("platform"))),
        ("host", name_of(env.get("hostname"))),
        ("git commit", name_of(env.get("git_commit"))),
        ("control: 1024x1024 float32 matmul", _control(env, "matmul_gflops", "GFLOP/s")),
        ("control: reference dense model training", _control(env, "ref_model_samples_per_s", "samples/s")),
    ]
    devices = devices_seen(report.records)
    if len(devices) > 1:
        rows.append(("devices in records", "; ".join(devices)))
    return rows


def failed_table(report: Report) -> Table | None:
    failed = report.failed
    if not failed:
        return None
    headers = ["dataset", "model", "seed", "fold", "error"]
    rows = [[_plain(r.get("dataset")), _plain(r.get("model")), _plain(r.get("seed")),
             _fold(r), _plain(r.get("error") or "no error message recorded")] for r in failed]
    return headers, rows


RUN_FIELDS = (("accuracy", "score"), ("f1_macro", "score"), ("roc_auc", "score"),
              ("train_time_s", "number"), ("epochs", "count"))


def runs_table(report: Report) -> Table:
    """Every record, one row each (appendix)."""
    headers = ["dataset", "model", "seed", "fold", "status", "accuracy", "macro-F1", "ROC-AUC",
               "train time (s)", "epochs", "degenerate"]
    recs = sorted(report.records, key=lambda r: (name_of(r.get("dataset")), name_of(r.get("model")),
                                                  run_order(r)))
    rows = []
    for r in recs:
        cells = [_plain(r.get("dataset")), _plain(row_label(r)), _plain(r.get("seed")), _fold(r)]
        cells.append(_plain("ok" if is_ok(r) else name_of(r.get("status"))))
        cells += [_plain(fmt_value(number(r.get(k)), kind)) for k, kind in RUN_FIELDS]
        cells.append(_plain(f"{DEGENERATE_MARK} {r['degenerate']}" if r.get("degenerate") else "-"))
        rows.append(cells)
    return headers, rows


def model_heading(sec: DatasetSection, model: str) -> str:
    return f"{model} on {sec.name}"
