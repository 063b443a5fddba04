"""The report's text, format-neutral: tables as (headers, rows of cells) and notes.

A cell is ``(text, emphasis)``; emphasis marks the best value of a column and the values
statistically tied with it (``benchmarks.records.pairwise``; the text carries ``*`` / ``≈``). Markdown and
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
    COST_COLUMNS,
    NA,
    OPERATING_COLUMNS,
    DatasetSection,
    devices_seen,
    fmt_summary,
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
    "Intervals match the quantity (95%). Scores (accuracy, F1, ROC-AUC, Brier, ECE): the mean over "
    "seeds with a two-level bootstrap interval, seeds resampled and, within each of 1000 replicates, "
    "the test samples resampled, so test-set sampling counts and a deterministic model still has a "
    "width; it stays inside [0, 1] (a single run: bootstrap over its test samples; without stored "
    "scores: Student t over runs, clipped to [0, 1]). Costs (times, throughputs, memory): with 3 or "
    "more runs the geometric mean and a Student-t interval of the log values, never below zero; "
    "with 2 runs the range; parameter counts show the value. "
    "* and bold: best mean in its column; ≈ and bold: statistically tied with the best: for scores a "
    "paired test on the same test samples (exact McNemar for accuracy, DeLong for ROC-AUC, paired "
    "bootstrap for the others) with Holm's correction does not reject on every seed (level 0.05); "
    "for costs the intervals overlap. Brier: lower is better (0 = perfect); ECE: expected "
    "calibration error, top-label confidence in 15 equal-width bins, lower is better. Throughput of "
    "scikit-learn models is training-set size / fit time."
)
RANKING_NOTE = (
    "Each model's rank on each dataset by its mean test accuracy over seeds (1 = best, ties share "
    "the average rank), the mean rank, Friedman's test that all models rank alike, and Nemenyi's "
    "critical difference (CD, level 0.05): models whose mean ranks differ by less than CD are not "
    "significantly different (Demšar, JMLR 2006). The tests need every model on every dataset, so "
    "there is one ranking over all datasets with the models that ran on all of them, and one per "
    "group of datasets sharing their models. In brackets: the mean accuracy ranked."
)
OPERATING_NOTE = (
    "Binary tasks, positive class = class 1. Default threshold: the arg-max class (0.5). Validation "
    "threshold: the class-1 score maximising Youden's J (sensitivity + specificity - 1) on each run's "
    "validation split, never the test split; n/a where the validation split trained the model (a "
    "recipe that selects nothing on validation, such as mobilenet_v2_hub's, and Keras models on "
    "Golub, whose few validation samples train too) or older records hold no validation scores. "
    "Mean [95% interval] over runs."
)
PAIRWISE_NOTE = (
    "Every pair of models on the same test samples, per seed: exact McNemar test on correctness "
    "(b: samples only the first gets right, c: only the second) and DeLong's test of ROC-AUC (binary). "
    "p (Holm): adjusted with Holm's method over all pairs and seeds of this dataset and test."
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
        cells += [(row.cell(c), c.field in row.best or c.field in row.tied) for c in COLUMNS]
        cells.append(_plain(row.ci_text()))
        cells += [_plain(published_delta(row.summaries[m].mean if m in row.summaries else None, best[m]))
                  for m in shown]
        rows.append(cells)
    return headers, rows


def cost_table(sec: DatasetSection) -> Table | None:
    """Latency percentiles, memory, FLOPs and the other costs some record of the dataset has,
    with the cost intervals of ``benchmarks.records.stats``; None when there are none."""
    cols = [c for c in COST_COLUMNS if any(row.summaries[c.field].mean is not None for row in sec.rows)]
    if not cols:
        return None
    headers = ["model", "runs", *(c.header for c in cols)]
    rows = [[_plain(row.model), _plain(row.runs_text())]
            + [(row.cell(c), c.field in row.best or c.field in row.tied) for c in cols] for row in sec.rows]
    return headers, rows


def operating_table(sec: DatasetSection) -> Table | None:
    """Binary datasets: sensitivity and specificity at the default threshold and at the
    validation-chosen one, with the mean chosen threshold."""
    if not sec.binary or not any(row.summaries[c.field].mean is not None for row in sec.rows
                                 for c in OPERATING_COLUMNS):
        return None
    headers = ["model", "runs", *(c.header for c in OPERATING_COLUMNS), "validation threshold"]
    rows = []
    for row in sec.rows:
        thr = [v for r in row.records if is_ok(r) and (v := number(r.get("val_threshold"))) is not None]
        thr_text = NA if not thr else (f"{thr[0]:.3f}" if len(thr) == 1 else
                                       f"{thr[0]:.3f} on all {len(thr)} runs" if min(thr) == max(thr) else
                                       f"{min(thr):.3f}-{max(thr):.3f} over {len(thr)} runs")
        rows.append([_plain(row.model), _plain(row.runs_text())]
                    + [_plain(fmt_summary(row.summaries[c.field], "score", 3)) for c in OPERATING_COLUMNS]
                    + [_plain(thr_text)])
    return headers, rows


def pairwise_table(sec: DatasetSection) -> Table | None:
    """Every pair of models per seed: McNemar (accuracy) and DeLong (ROC-AUC), raw and Holm p."""
    from benchmarks.records.pairwise import ALPHA, pairwise

    by_model = {row.model: row.records for row in sec.rows}
    if len(by_model) < 2:
        return None
    results = pairwise(sec.name, by_model, "accuracy")
    if sec.binary:
        results += pairwise(sec.name, by_model, "roc_auc")
    if not results:
        return None

    def p(v: float | None) -> str:
        return NA if v is None else ("<0.001" if v < 0.001 else f"{v:.3f}")
    headers = ["models", "run", "test", "detail", "p", "p (Holm)", f"differ at {ALPHA}"]
    rows = [[_plain(f"{r.model_a} vs {r.model_b}"), _plain(r.run), _plain(r.test), _plain(r.detail),
             _plain(p(r.p_value)), _plain(p(r.p_holm)),
             ("yes" if r.p_holm is not None and r.p_holm < ALPHA else "no", False)]
            for r in sorted(results, key=lambda r: (r.model_a, r.model_b, r.test, r.run))]
    return headers, rows


def ranking_tables(report: Report) -> list[tuple[str, str, list[str], Table]]:
    """(title, verdict, notes, table) per cross-dataset ranking (``benchmarks.records.ranking``)."""
    from benchmarks.records.ranking import ranking_rows, rankings

    out = []
    for rk in rankings([r for r in report.records if is_ok(r)], "accuracy"):
        headers, rows = ranking_rows(rk)
        cells = [[(c, i == 0 and c == next(iter(rk.mean_ranks))) if i == 0 else _plain(c)
                  for i, c in enumerate(row)] for row in rows]
        out.append((f"Ranking over {rk.title}", rk.verdict(), list(rk.notes), (headers, cells)))
    return out


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
