"""Assemble a report from a results folder: analyse, draw figures, write md/html/PNGs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from benchmarks.core.atomic import atomic_write_bytes, atomic_write_text
from benchmarks.core.paths import safe_filename
from benchmarks.records.federated import model_label
from benchmarks.records.results import NAMED, load_results
from benchmarks.records.stats import Summary
from benchmarks.report import analysis
from benchmarks.report.analysis import DatasetSection, run_label
from benchmarks.report.model import FigureRef, Report, SectionFigures

FIGURES_DIR = "figures"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"


def _clipped(s: Summary) -> tuple[float | None, float | None]:
    """A score's confidence interval within [0, 1] (t intervals can overshoot)."""
    if s.ci_low is None or s.ci_high is None:
        return None, None
    return max(s.ci_low, 0.0), min(s.ci_high, 1.0)


def _section_figures(sec: DatasetSection, colors: dict[str, str]) -> SectionFigures:
    from benchmarks.report import plots

    figs = SectionFigures()
    base = safe_filename(sec.name)
    intervals = {r.model: _clipped(r.summaries["accuracy"]) for r in sec.rows}
    png = plots.accuracy_vs_time(sec.name, sec.pareto_points, sec.pareto, intervals, colors)
    if png:
        front = ", ".join(sec.pareto) or "n/a"
        figs.overview.append(FigureRef(
            f"{base}--accuracy-vs-time.png",
            f"Test accuracy against training time (mean over runs, error bars 95% CI of accuracy). "
            f"Pareto front (maximise accuracy, minimise training time): {front}.", png))
    png = plots.federated_curves(sec.name, [r for row in sec.rows for r in row.records], colors)
    if png:
        figs.overview.append(FigureRef(
            f"{base}--federated.png",
            "Federated runs: global-model test accuracy after each round (left) and against the "
            "cumulative model bytes sent down and up (right), mean over runs; dashed lines: the "
            "centralised runs' mean test accuracy.", png))
    if sec.binary:
        png = plots.roc_curves(sec.name, sec.median, sec.class_names, colors)
        if png:
            figs.overview.append(FigureRef(
                f"{base}--roc.png",
                "ROC curves of the positive class (class 1), each model's median-accuracy run.", png))
    for row in sec.rows:
        out: list[FigureRef] = []
        notes: list[str] = []
        color = colors.get(row.model, "#444444")
        mbase = f"{base}--{safe_filename(row.model)}"
        png = plots.learning_curves(sec.name, row.model, [r for r in row.records if analysis.is_ok(r)], color)
        if png:
            out.append(FigureRef(f"{mbase}--learning-curves.png",
                                 "Learning curves: train (solid) and validation (dashed) loss and "
                                 "accuracy per epoch, every run.", png))
        elif row.n_ok:
            notes.append("no per-epoch curves in these records (e.g. a scikit-learn model)")
        med = sec.median.get(row.model)
        if med is not None:
            png = plots.median_run(sec.name, row.model, med, sec.class_names, color)
            if png:
                out.append(FigureRef(f"{mbase}--median-run.png",
                                     f"Median-accuracy run ({run_label(med)}): confusion matrix "
                                     "normalised per true class, and per-class F1.", png))
            else:
                notes.append("no confusion matrix or per-class F1 in the median run's record")
        if not row.n_ok:
            notes.append("no successful run: nothing to plot")
        figs.per_model[row.model] = out
        figs.notes[row.model] = notes
    return figs


def _unique_names(figures: dict[str, SectionFigures]) -> None:
    """Rename figures whose file names collide (e.g. dataset 'a--b' + model 'c' vs 'a' + 'b--c')."""
    seen: set[str] = set()
    for figs in figures.values():
        for refs in [figs.overview, *figs.per_model.values()]:
            for i, ref in enumerate(refs):
                name, n = ref.name, 1
                while name in seen:
                    n += 1
                    name = ref.name.replace(".png", f"-{n}.png")
                seen.add(name)
                if name != ref.name:
                    refs[i] = FigureRef(name, ref.caption, ref.png)


def build(results_dir: Path, command: str | None = None, extra: tuple[Path, ...] = ()) -> Report:
    """Load ``results_dir`` (plus the records of the ``extra`` run folders, e.g. a ``run --tuned``
    run shown beside the default one) and compute everything the report shows (figures included)."""
    doc = load_results(results_dir, NAMED)  # refuses corrupt records (benchmarks.records.results.check_records)
    records = list(doc["records"])
    for more in extra:
        records += list(load_results(more, NAMED)["records"])
    # a federated run is its own model row: "cnn · fedavg (5 clients, dirichlet 0.5)"
    records = [{**r, "model": model_label(r)} for r in records]
    meta = doc.get("meta") or {}
    run_dir = Path(results_dir)
    run_id = (run_dir.parent if run_dir.is_file() else run_dir).resolve().name
    sections = analysis.sections(records)
    from benchmarks.report.plots import model_colors

    colors = model_colors(analysis.all_models(records))
    figures = {sec.name: _section_figures(sec, colors) for sec in sections}
    from benchmarks.report.explanations import explanation_figures

    base_dir = run_dir.parent if run_dir.is_file() else run_dir
    for sec in sections:  # explained runs only (run --explain / explain)
        figures[sec.name].overview += explanation_figures(sec, base_dir, colors)
    _unique_names(figures)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return Report(run_id, meta, command or meta.get("command"), now, records, sections, figures, colors)


def write_report(results_dir: Path, output_dir: Path | None = None, command: str | None = None,
                 extra: tuple[Path, ...] = ()) -> Path:
    """Write ``report.md``, ``report.html`` and ``figures/*.png``; return the HTML path.

    ``output_dir`` defaults to the results folder; ``command`` (the run's command line)
    defaults to the one stored in the results' meta.
    """
    from benchmarks.report.html import render_html
    from benchmarks.report.markdown import render_markdown

    results_dir = Path(results_dir)
    report = build(results_dir, command, tuple(Path(p) for p in extra))
    out = Path(output_dir) if output_dir else (results_dir.parent if results_dir.is_file() else results_dir)
    fig_dir = out / FIGURES_DIR
    fig_dir.mkdir(parents=True, exist_ok=True)
    for figs in report.figures.values():
        for ref in figs.overview + [f for refs in figs.per_model.values() for f in refs]:
            atomic_write_bytes(fig_dir / ref.name, ref.png)
    html_path = out / REPORT_HTML
    md_path = out / REPORT_MD
    for path, text in ((md_path, render_markdown(report, FIGURES_DIR)), (html_path, render_html(report))):
        atomic_write_text(path, text)
    return html_path
