"""Compare's output: a plain-text table, a GitHub PR comment (markdown) or JSON."""

from __future__ import annotations

import json
from typing import Sequence

from benchmarks.compare.verdicts import FAILING, Comparison, Row
from benchmarks.core.markup import md
from benchmarks.records.baseline import describe_machine


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


def _delta_pct(r: Row) -> str:
    """``-3.1%``, or with a paired interval ``-3.1% [-6.0, -0.2]``."""
    if r.delta_pct is None:
        return ""
    s = f"{r.delta_pct:+.1f}%"
    if r.ci_low is not None and r.ci_high is not None:
        s += f" [{100 * (r.ci_low - 1):+.1f}, {100 * (r.ci_high - 1):+.1f}]"
    return s


def _threshold(r: Row) -> str:
    if r.threshold is None:
        return ""
    return f"{r.threshold:.4f}" if r.kind == "quality" else f"{r.threshold:.0%}"


GITHUB_VERDICT = {"worse": ":x: **worse**", "missing": ":x: **missing**",
                  "better": ":white_check_mark: better", "same": "same",
                  "not comparable": ":heavy_minus_sign: not comparable"}
HEADERS = ["model", "dataset", "metric", "n", "baseline", "current", "delta", "delta %", "threshold",
           "p", "verdict", "note"]


def table_rows(rows: Sequence[Row], github: bool = False) -> list[list[str]]:
    """Table cells per row; ``github``: Markdown, data text escaped (``benchmarks.core.markup.md``)."""
    out = []
    for r in rows:
        cells = [
            r.model, r.dataset, r.label, f"{r.n_baseline}/{r.n_current}",
            _cell(r.baseline, r.baseline_std, r.kind), _cell(r.current, r.current_std, r.kind), _delta(r),
            _delta_pct(r), _threshold(r),
            "" if r.p_value is None else f"{r.p_value:.3f}",
            r.verdict, r.note,
        ]
        if github:
            cells = [md(c) for c in cells[:-2]] + [GITHUB_VERDICT[r.verdict], md(r.note)]
        out.append(cells)
    return out


def summary_line(cmp: Comparison) -> str:
    c = cmp.counts()
    return (f"{c['worse']} worse, {c['missing']} missing, {c['better']} better, {c['same']} same, "
            f"{c['not comparable']} not comparable "
            f"({cmp.baseline_label}: {describe_machine(cmp.baseline_machine)}; "
            f"{cmp.current_label}: {describe_machine(cmp.current_machine)})")


LEGEND = ("quality: mean ± std over seeds, worse when the drop exceeds the threshold max(floor, k x pooled "
          "std); speed: median, worse when beyond the relative threshold and (with repeats) one-sided "
          "Mann-Whitney p <= alpha; /ctrl, *ctrl: normalised by the run's control benchmark; "
          "across CPU models speed is not comparable (use ab on one machine).")


def render_text(cmp: Comparison) -> str:
    from tabulate import tabulate

    lines = [f"oncobench compare: {cmp.baseline_label} -> {cmp.current_label}: {summary_line(cmp)}", ""]
    lines.append(tabulate(table_rows(cmp.rows), headers=HEADERS, disable_numparse=True))
    lines += [f"note: {n}" for n in cmp.notes]
    if cmp.legend:
        lines.append(f"legend: {cmp.legend}")
    return "\n".join(lines) + "\n"


MARKER = "<!-- oncobench-compare -->"


def render_github(cmp: Comparison) -> str:
    """A PR comment: summary header, the rows that changed, then every row in a <details>."""
    from tabulate import tabulate

    c = cmp.counts()
    icon = ":x:" if any(c[v] for v in FAILING) else ":white_check_mark:"
    lines = [MARKER, f"### {icon} oncobench compare: {md(cmp.baseline_label)} → {md(cmp.current_label)}", "",
             f"**{md(summary_line(cmp))}**", ""]
    changed = [r for r in cmp.rows if r.verdict in (*FAILING, "better")]
    changed.sort(key=lambda r: r.verdict not in FAILING)
    if changed:
        lines.append(tabulate(table_rows(changed, github=True), headers=HEADERS, tablefmt="github",
                              disable_numparse=True))
    else:
        lines.append("No change beyond the thresholds.")
    lines += ["", f"<details><summary>All {len(cmp.rows)} comparisons</summary>", "",
              tabulate(table_rows(cmp.rows, github=True), headers=HEADERS, tablefmt="github",
                       disable_numparse=True), "", "</details>", ""]
    lines += [f"> note: {md(n)}" for n in cmp.notes]
    lines.append(f"<sub>{md(cmp.legend or LEGEND)}</sub>")
    return "\n".join(lines) + "\n"


def render(cmp: Comparison, fmt: str, fail_on: str = "any") -> str:
    if fmt == "json":
        return json.dumps(cmp.as_dict(fail_on), indent=1, allow_nan=False) + "\n"
    return render_github(cmp) if fmt == "github" else render_text(cmp)

