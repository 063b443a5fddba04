"""``report.html``: one self-contained file (inline CSS, PNGs as data URIs, no scripts, no URLs)."""

from __future__ import annotations

import base64
import html
import re
from typing import Any

from benchmarks.core.paths import safe_filename
from benchmarks.report import content
from benchmarks.report.explanations import EXPLAIN_NOTE, explanation_table
from benchmarks.report.model import FigureRef, Report

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px auto;
max-width:1250px;padding:0 16px;color:#1a1a1a;line-height:1.45;font-size:15px}
h1{font-size:26px;margin-bottom:4px}h2{font-size:21px;border-bottom:2px solid #ddd;padding-bottom:4px;
margin-top:40px}h3{font-size:17px;margin-top:26px}
table{border-collapse:collapse;margin:10px 0 6px;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.best{font-weight:700;background:#e6f4e6}
.sw{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.note{color:#555;font-size:13px;max-width:1100px}.published{border-left:4px solid #c9a227;padding-left:12px}
.tag{background:#fff3c4;border:1px solid #c9a227;border-radius:3px;padding:0 5px;font-size:12px}
figure{margin:14px 0}figure img{max-width:100%;border:1px solid #e2e2e2}
figcaption{color:#444;font-size:13px;max-width:1100px}ul.facts{margin:4px 0 8px;font-size:14px}
.failed td{background:#fdecec}.ci{color:#555;font-size:12px;font-weight:400}
.wide{overflow-x:auto}td:first-child{white-space:nowrap}code{font-size:13px;overflow-wrap:anywhere}
"""


def esc(text: Any) -> str:
    """HTML-escaped data text; ``://`` is written with an entity so no URL appears in the file."""
    return html.escape(str(text), quote=True).replace("://", "&#58;//")


_NUMERIC = re.compile(r"^(-?[\d,.]+(e[+-]?\d+)?( \[.*\])?|n/a|-)$")


def _is_number(text: str) -> bool:
    return bool(_NUMERIC.match(text))


def _cell_html(text: str) -> str:
    """A value with a CI, ``0.91 [0.88, 0.94]``, shows the interval on a second, smaller line."""
    mean, sep, ci = text.partition(" [")
    if sep and _is_number(text):
        return f'{esc(mean)}<br><span class="ci">[{esc(ci)}</span>'
    return esc(text)


def table(t: content.Table, swatches: dict[str, str] | None = None, cls: str = "",
          swatch_col: int = 0, numeric: bool = True) -> str:
    headers, rows = t
    out = ['<div class="wide">', f'<table class="{cls}">' if cls else "<table>", "<thead><tr>"]
    out += [f"<th>{esc(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for i, (text, best) in enumerate(row):
            num = numeric and _is_number(text)
            classes = [c for c in ("num" if num else "", "best" if best else "") if c]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            sw = ""
            if i == swatch_col and swatches and text in swatches:
                sw = f'<span class="sw" style="background:{esc(swatches[text])}"></span>'
            out.append(f"<td{attr}>{sw}{_cell_html(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def figure(ref: FigureRef) -> str:
    data = base64.b64encode(ref.png).decode("ascii")
    return (f'<figure><img alt="{esc(ref.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(ref.caption)}</figcaption></figure>")


def _anchor(name: str) -> str:
    return "ds-" + safe_filename(name)


def render_html(report: Report) -> str:
    title = f"oncobench report: run {report.run_id}"
    body = [f"<h1>{esc(title)}</h1>",
            f'<p class="note">command: <code>{esc(report.command or "n/a")}</code><br>written '
            f"{esc(report.generated_at)}; {len(report.records)} records, {len(report.failed)} failed</p>"]
    if report.sections:
        body.append("<nav><strong>Datasets:</strong> " + " · ".join(
            f'<a href="#{esc(_anchor(s.name))}">{esc(s.name)}</a>' for s in report.sections)
            + ' · <a href="#environment">environment</a></nav>')
    else:
        body.append("<p>No records in this results file: nothing to compare.</p>")
    body.append(f'<p class="note">{esc(content.CI_NOTE)}</p>')
    body.append(f'<p class="note">{esc(content.DEGENERATE_NOTE)}</p>')
    for sec in report.sections:
        figs = report.figures[sec.name]
        body.append(f'<h2 id="{esc(_anchor(sec.name))}">{esc(sec.name)}</h2>')
        body.append('<ul class="facts">' + "".join(f"<li>{esc(f)}</li>" for f in content.dataset_facts(sec))
                    + "</ul>")
        body.append(table(content.comparison_table(sec), report.colors))
        body.append(f'<p class="note">{esc(content.pareto_text(sec))}</p>')
        pub = content.published_table(sec)
        if pub:
            body.append('<div class="published">')
            body.append(f'<h3>{esc(content.published_heading())} <span class="tag">published</span></h3>')
            if sec.published_note:
                body.append(f'<p class="note">{esc(sec.published_note)}.</p>')
            body.append(table(pub))
            body.append('<p class="note">' + "<br>".join(esc(c) for c in content.published_citations(sec))
                        + "</p></div>")
        expl = explanation_table(sec)
        if expl:
            body += ["<h3>Explanations</h3>", f'<p class="note">{esc(EXPLAIN_NOTE)}</p>', table(expl)]
        body += [figure(ref) for ref in figs.overview]
        for row in sec.rows:
            sw = f'<span class="sw" style="background:{esc(report.colors.get(row.model, "#444"))}"></span>'
            body.append(f"<h3>{sw}{esc(content.model_heading(sec, row.model))}</h3>")
            body += [figure(ref) for ref in figs.per_model.get(row.model, [])]
            body += [f'<p class="note">{esc(n)}</p>' for n in figs.notes.get(row.model, [])]
    failed = content.failed_table(report)
    if failed:
        body += ['<h2 id="failed">Failed runs</h2>', table(failed, cls="failed")]
    body += ['<h2 id="runs">All runs</h2>', "<details open><summary>one row per record</summary>",
             table(content.runs_table(report), report.colors, swatch_col=1), "</details>"]
    env = (["item", "value"], [[(k, False), (v, False)] for k, v in content.environment_rows(report)])
    body += ['<h2 id="environment">Environment</h2>', table(env, numeric=False)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
