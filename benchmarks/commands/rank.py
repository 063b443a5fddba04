"""``rank RESULTS_DIR``: the cross-dataset ranking of a run (mean ranks, Friedman, Nemenyi CD)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import add_format, add_results_dir, examples
from benchmarks.core.errors import OncobenchError
from benchmarks.metrics import catalogue


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level in (0, 1), e.g. 0.05")
    return value


def run(args: argparse.Namespace) -> int:
    """Print one ranking table per complete block of datasets and models."""
    from benchmarks.records.ranking import rankings, render_text
    from benchmarks.records.results import NAMED, load_results

    if args.metric not in catalogue.names("quality"):
        raise OncobenchError(f"--metric {args.metric!r}: not a quality metric; valid: "
                             f"{', '.join(catalogue.names('quality'))}")
    records = load_results(Path(args.results_dir), NAMED)["records"]
    ranks = rankings(records, args.metric, args.alpha)
    if args.json or args.format == "json":
        import dataclasses
        import json

        sys.stdout.write(json.dumps([dataclasses.asdict(r) for r in ranks], default=str, indent=1) + "\n")
        return 0
    sys.stdout.write(render_text(ranks, "github" if args.format == "github" else "simple") + "\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``rank`` parser."""
    p = sub.add_parser("rank", help="rank the models of a run across its datasets (Friedman, Nemenyi CD)",
                       description="Mean rank of each model over the run's datasets (by its mean over "
                                   "seeds of --metric), Friedman's test and Nemenyi's critical difference "
                                   "(Demšar 2006): one table over all datasets with the models that ran "
                                   "on all of them, and one per group of datasets sharing their models.")
    add_results_dir(p)
    p.add_argument("--metric", default="accuracy", help="quality metric to rank by (default: accuracy)")
    p.add_argument("--alpha", type=_alpha, default=0.05, help="significance level (default: 0.05)")
    add_format(p)
    examples(p, """  python -m benchmarks rank results/20261206-120000
  python -m benchmarks rank results/20261206-120000 --metric roc_auc --format github""")
    p.set_defaults(func=run)
