"""``export mlflow RESULTS_DIR [--tracking-uri URI]``: send a finished run to a tracking tool.
``export model RESULTS_DIR [--model M --dataset D --seed S]``: write deployable artifacts
(``benchmarks.deploy``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import add_data_dir, add_plugins, add_results_dir, examples


def run_mlflow(args: argparse.Namespace) -> int:
    """Log each record as an MLflow run and print how many were exported."""
    from benchmarks.core.plugins import load_plugins
    from benchmarks.tracking.mlflow_export import export_mlflow, resolved_uri

    load_plugins(args.plugin or ())
    results = Path(args.results_dir)
    uri, source = resolved_uri(args.tracking_uri)
    print(f"mlflow: exporting {results} to experiment {args.experiment!r} at {uri} ({source})", flush=True)
    done = export_mlflow(results, uri, args.experiment, models=not args.no_models,
                         data_dir=Path(args.data_dir) if args.data_dir else None, log=print)
    print(f"mlflow: exported {done.exported} record(s) of {results} to experiment {args.experiment!r} "
          f"(id {done.experiment_id}) at {uri}" + (f"; {done.skipped} already there" if done.skipped else "")
          + (f"; parent run {done.parent_run_id}" if done.parent_run_id else "")
          + (f"; {len(done.models)} model(s) logged" if done.models else ""))
    if done.notes:
        print(f"mlflow: {len(done.notes)} model(s) not logged (see each run's oncobench.model_error tag)",
              file=sys.stderr)
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
                          description="Log the run folder as one parent MLflow run with a nested run "
                                      "per record (its own start/end times): params (configuration, "
                                      "hyper-parameters), metrics (catalogue metrics, per-epoch curves), "
                                      "tags (environment, mlflow.source.*), the dataset (log_input), "
                                      "confusion-matrix and ROC figures, and the trained model "
                                      "(mlflow.keras / mlflow.sklearn: mlflow.pyfunc.load_model predicts). "
                                      "Records already exported are skipped.")
    add_results_dir(ml)
    ml.add_argument("--tracking-uri", help="e.g. file:///tmp/mlruns or http://host:5000 "
                                           "(default: MLFLOW_TRACKING_URI or MLflow's default)")
    ml.add_argument("--experiment", default=DEFAULT_EXPERIMENT,
                    help=f"MLflow experiment name (default: {DEFAULT_EXPERIMENT})")
    ml.add_argument("--no-models", action="store_true",
                    help="skip log_model (faster: no dataset is loaded, no model rebuilt or refitted)")
    add_data_dir(ml, "where downloaded datasets are cached (log_model reloads the test split)")
    add_plugins(ml)
    examples(ml, """  python -m benchmarks export mlflow results/20261206-120000 --tracking-uri sqlite:///mlflow.db""")
    from benchmarks.commands.deploy import add_record_selection

    mo = tools.add_parser("model", help="deployable artifacts of a record's model (needs oncobench[deploy])",
                          description=MODEL_DESCRIPTION)
    add_record_selection(mo)
    examples(mo, """  python -m benchmarks export model results/20261206-120000 --model cnn \\
      --dataset breastmnist --seed 0""")
    p.set_defaults(func=run)
