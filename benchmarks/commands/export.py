"""``export mlflow RESULTS_DIR [--tracking-uri URI]``: send a finished run to a tracking tool.
``export model RESULTS_DIR [--model M --dataset D --seed S]``: write deployable artifacts
(``benchmarks.deploy``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_mlflow(args: argparse.Namespace) -> int:
    """Log each record as an MLflow run and print how many were exported."""
    from benchmarks.tracking.mlflow_export import export_mlflow

    results = Path(args.results_dir)
    exported, skipped = export_mlflow(results, args.tracking_uri, args.experiment)
    where = args.tracking_uri or "the default tracking URI (MLFLOW_TRACKING_URI or MLflow's default)"
    print(f"mlflow: exported {exported} record(s) of {results} to experiment {args.experiment!r} at {where}"
          + (f"; {skipped} already there" if skipped else ""))
    return 0


def run_model(args: argparse.Namespace) -> int:
    """Write each selected record's deployable artifacts and print their folders."""
    import sys

    from benchmarks.api import quiet_tensorflow
    from benchmarks.commands.deploy import formats_arg
    from benchmarks.deploy.folder import export_folder

    formats = formats_arg(args.formats)
    quiet_tensorflow()
    for folder in export_folder(Path(args.results_dir), model=args.model, dataset=args.dataset,
                                seed=args.seed, formats=formats,
                                output=Path(args.output) if args.output else None,
                                data_dir=Path(args.data_dir) if args.data_dir else None,
                                log=lambda s: print(s, file=sys.stderr, flush=True)):
        print(f"model: wrote {folder} ({', '.join(sorted(p.name for p in folder.iterdir()))})")
    return 0


MODEL_DESCRIPTION = (
    "Write a record's model with its preprocessing baked in: TF SavedModel, LiteRT (float32, "
    "dynamic-range int8, full-integer int8 calibrated on training samples), ONNX; a manifest / model "
    "card (JSON + Markdown) beside each. Layout: see benchmarks/deploy/__init__.py."
)
TOOLS = {"mlflow": run_mlflow, "model": run_model}


def run(args: argparse.Namespace) -> int:
    """Run the chosen tool's export."""
    return TOOLS[args.tool](args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` parser and its tools."""
    from benchmarks.tracking.mlflow_export import DEFAULT_EXPERIMENT

    p = sub.add_parser("export", help="send a finished run to a tracking tool (mlflow) or export a model",
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
    from benchmarks.commands.deploy import add_selection

    mo = tools.add_parser("model", help="deployable artifacts of a record's model (needs oncobench[deploy])",
                          description=MODEL_DESCRIPTION)
    add_selection(mo)
    p.set_defaults(func=run)
