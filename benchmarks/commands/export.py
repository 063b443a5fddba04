"""``export mlflow RESULTS_DIR [--tracking-uri URI]``: send a finished run to a tracking tool."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import add_plugins, examples


def run_mlflow(args: argparse.Namespace) -> int:
    """Log each record as an MLflow run and print how many were exported."""
    from benchmarks.core.plugins import load_plugins
    from benchmarks.tracking.mlflow_export import export_mlflow

    load_plugins(args.plugin or ())
    results = Path(args.results_dir)
    exported, skipped = export_mlflow(results, args.tracking_uri, args.experiment)
    where = args.tracking_uri or "the default tracking URI (MLFLOW_TRACKING_URI or MLflow's default)"
    print(f"mlflow: exported {exported} record(s) of {results} to experiment {args.experiment!r} at {where}"
          + (f"; {skipped} already there" if skipped else ""))
    return 0


TOOLS = {"mlflow": run_mlflow}


def run(args: argparse.Namespace) -> int:
    """Run the chosen tool's export."""
    return TOOLS[args.tool](args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` parser and its tools."""
    from benchmarks.tracking.mlflow_export import DEFAULT_EXPERIMENT

    p = sub.add_parser("export", help="send a finished run to a tracking tool (mlflow)",
                       description="Export the records of a run folder to an experiment tracker.")
    tools = p.add_subparsers(dest="tool", metavar="TOOL", required=True)
    ml = tools.add_parser("mlflow", help="log each record as an MLflow run (needs oncobench[mlflow])",
                          description="Log each record as an MLflow run: params (configuration, "
                                      "hyper-parameters), metrics (catalogue metrics, learning curves), "
                                      "the environment as tags, the checkpoint as an artifact. Records "
                                      "already exported are skipped.")
    ml.add_argument("results_dir", metavar="RESULTS_DIR", help="a run folder (or its results.json)")
    ml.add_argument("--tracking-uri", help="e.g. file:///tmp/mlruns or http://host:5000 "
                                           "(default: MLFLOW_TRACKING_URI or MLflow's default)")
    ml.add_argument("--experiment", default=DEFAULT_EXPERIMENT,
                    help=f"MLflow experiment name (default: {DEFAULT_EXPERIMENT})")
    add_plugins(ml)
    examples(ml, """  python -m benchmarks export mlflow results/20261206-120000 --tracking-uri sqlite:///mlflow.db""")
    p.set_defaults(func=run)
