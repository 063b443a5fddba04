"""``report RESULTS_DIR [--output DIR]``: report.md and a self-contained report.html.

Light at import (the CLI imports it to build its parser): the work happens in
``benchmarks.report.build``, imported when a report is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def write_report(results_dir: Path, output_dir: Path | None = None, command: str | None = None) -> Path:
    """Write ``report.md``, ``report.html`` and ``figures/`` for a results folder; return the HTML path."""
    from benchmarks.report.build import write_report as _write

    return _write(Path(results_dir), Path(output_dir) if output_dir else None, command)


def _report(args: argparse.Namespace) -> int:
    from benchmarks.report.build import FIGURES_DIR, REPORT_MD

    html_path = write_report(Path(args.results_dir), args.output)
    out = html_path.parent
    print(f"{out / REPORT_MD}\n{html_path}\n{out / FIGURES_DIR}/")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md / report.html for a results folder",
                       description="Comparison tables with 95% CIs, published reference results, "
                                   "accuracy-vs-time, learning-curve, confusion-matrix and ROC figures, "
                                   "and the environment, from a run folder's results.json.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="a run folder (or its results.json)")
    p.add_argument("--output", metavar="DIR", help="where to write (default: RESULTS_DIR)")
    p.set_defaults(func=_report)
