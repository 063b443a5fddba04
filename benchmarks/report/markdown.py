"""``report.md``: GitHub-flavoured Markdown; figures linked relatively from ``figures/``."""

from __future__ import annotations

from typing import Any

from benchmarks.core.markup import md
from benchmarks.report import content
from benchmarks.report.explanations import EXPLAIN_NOTE, explanation_table
from benchmarks.report.model import Report

__all__ = ["md", "render_markdown", "table"]


def table(t: content.Table) -> list[str]:
    headers, rows = t
    out = ["| " + " | ".join(md(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        out.append("| " + " | ".join(f"**{md(s)}**" if bold else md(s) for s, bold in row) + " |")
    return out + [""]


def _figure(ref: Any, folder: str) -> list[str]:
    return [f"![{md(ref.caption)}]({folder}/{ref.name})", "", f"*{md(ref.caption)}*", ""]


def render_markdown(report: Report, folder: str = "figures") -> str:
    datasets = ", ".join(s.name for s in report.sections) or "none"
    lines = [f"# oncobench report: run {md(report.run_id)}", "",
             f"- command: {md(report.command or 'n/a')}",
             f"- written {md(report.generated_at)}; {len(report.records)} records, "
             f"{len(report.failed)} failed; datasets: {md(datasets)}",
             "", f"*{md(content.CI_NOTE)}*", "", f"*{md(content.DEGENERATE_NOTE)}*", ""]
    if not report.records:
        lines += ["No records in this results file: nothing to compare.", ""]
    for sec in report.sections:
        figs = report.figures[sec.name]
        lines += [f"## {md(sec.name)}", ""]
        lines += [f"- {md(f)}" for f in content.dataset_facts(sec)] + [""]
        lines += table(content.comparison_table(sec))
        lines += [md(content.pareto_text(sec)), ""]
        pub = content.published_table(sec)
        if pub:
            lines += [f"### {md(content.published_heading())}", ""]
            if sec.published_note:
                lines += [f"*{md(sec.published_note)}.*", ""]
            lines += table(pub)
            lines += [f"- {md(c)}" for c in content.published_citations(sec)] + [""]
        expl = explanation_table(sec)
        if expl:
            lines += ["### Explanations", "", f"*{md(EXPLAIN_NOTE)}*", ""] + table(expl)
        for ref in figs.overview:
            lines += _figure(ref, folder)
        for row in sec.rows:
            lines += [f"### {md(content.model_heading(sec, row.model))}", ""]
            for ref in figs.per_model.get(row.model, []):
                lines += _figure(ref, folder)
            lines += [f"- {md(n)}" for n in figs.notes.get(row.model, [])]
            lines += [""] if figs.notes.get(row.model) else []
    failed = content.failed_table(report)
    if failed:
        lines += ["## Failed runs", ""] + table(failed)
    lines += ["## All runs", ""] + table(content.runs_table(report))
    lines += ["## Environment", ""] + table((["item", "value"], [[(k, False), (v, False)]
                                                         for k, v in content.environment_rows(report)]))
    return "\n".join(lines).rstrip() + "\n"
