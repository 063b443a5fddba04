"""``report RESULTS_DIR [--output DIR]``: report.md and a self-contained report.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import add_output, add_plugins, add_results_dir, examples
from benchmarks.core.atomic import check_writable_dir


def run(args: argparse.Namespace) -> int:
    """Write the report and print the paths of report.md, report.html and figures/."""
    from benchmarks.core.plugins import load_plugins
    from benchmarks.report import write_report
    from benchmarks.report.build import FIGURES_DIR, REPORT_MD

    load_plugins(args.plugin or ())
    results = Path(args.results_dir)
    if args.output:
        check_writable_dir(Path(args.output))
    elif results.exists():  # the report goes into the run folder: refuse a read-only one up front
        check_writable_dir(results if results.is_dir() else results.parent, "RESULTS_DIR (report goes there)")
    html_path = write_report(Path(args.results_dir), args.output, extra=tuple(args.with_dirs or ()))
    out = html_path.parent
    print(f"{out / REPORT_MD}\n{html_path}\n{out / FIGURES_DIR}/")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` parser."""
    p = sub.add_parser("report", help="write report.md / report.html for a results folder",
                       description="Comparison tables with 95% CIs, published reference results, "
                                   "accuracy-vs-time, learning-curve, confusion-matrix and ROC figures, "
                                   "and the environment, from a run folder's results.json.")
    add_results_dir(p)
    add_output(p, "where to write (default: RESULTS_DIR)", metavar="DIR")
    p.add_argument("--with", dest="with_dirs", action="append", metavar="DIR",
                   help="add another run folder's records, repeatable: e.g. a `run --tuned` run, "
                        "whose rows show as 'model (tuned)' beside the defaults")
    add_plugins(p)
    examples(p, """  python -m benchmarks report results/20261206-120000
  python -m benchmarks report results/base --with results/tuned --output /tmp/report""")
    p.set_defaults(func=run)
