"""``deploy RESULTS_DIR [--model M] [--dataset D] [--seed S] [--formats F,...] [--output DIR]``:
export each record's model (``export model``) and benchmark every artifact format on the record's
own test split: quality and its delta vs the Keras/scikit-learn model, agreement, size, cold start,
latency percentiles, throughput (1 thread / all), peak RSS. Results go into results.json
(``deployment``) and ``deployment.md``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchmarks.commands.args import add_data_dir, add_results_dir
from benchmarks.core.errors import OncobenchError


def formats_arg(text: str | None) -> tuple[str, ...] | None:
    """``--formats`` as names, checked (None: every format that applies)."""
    if not text:
        return None
    from benchmarks.deploy import FORMATS

    names = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [n for n in names if n not in FORMATS]
    if bad:
        raise OncobenchError(f"--formats: unknown format {bad[0]!r}; valid: {', '.join(FORMATS)}")
    return names


def add_record_selection(p: argparse.ArgumentParser) -> None:
    """RESULTS_DIR and the record / format / output options shared with ``export model``."""
    from benchmarks.commands.args import add_output, add_selection
    from benchmarks.deploy import FORMATS

    add_results_dir(p)
    add_selection(p, what=": only these records")
    p.add_argument("--seed", type=int, help="only this seed's records")
    p.add_argument("--formats", help=f"comma-separated subset of: {', '.join(FORMATS)} "
                                     "(default: every format that applies; scikit-learn: onnx)")
    add_output(p, "artifact folder (default: RESULTS_DIR/artifacts); one sub-folder per record, "
                  "replaced atomically")
    add_data_dir(p)


def run(args: argparse.Namespace) -> int:
    """Export, measure, print the deployment table, write deployment.md."""
    formats = formats_arg(args.formats)
    if args.latency_calls < 1:
        raise OncobenchError(f"--latency-calls {args.latency_calls}: must be at least 1")
    from benchmarks.api import quiet_tensorflow
    from benchmarks.deploy.measure import deployment_table

    quiet_tensorflow()
    records = deploy_folder_table(Path(args.results_dir), model=args.model, dataset=args.dataset,
                                  seed=args.seed, formats=formats,
                                  output=Path(args.output) if args.output else None,
                                  data_dir=Path(args.data_dir) if args.data_dir else None,
                                  latency_calls=args.latency_calls)
    print(deployment_table(records))
    return 0


def deploy_folder_table(run_dir: Path, **options: Any) -> list[dict[str, Any]]:
    """``deploy_run`` with progress on stderr, then the folder's ``deployment.md`` (every record
    with deployment figures); returns the records measured now (``deploy`` and ``run --deploy``)."""
    from benchmarks.core.atomic import atomic_write_text
    from benchmarks.deploy.folder import deploy_run
    from benchmarks.deploy.measure import deployment_table
    from benchmarks.records.results import load_results

    records = deploy_run(run_dir, log=lambda s: print(s, file=sys.stderr, flush=True), **options)
    folder = run_dir.parent if run_dir.is_file() else run_dir
    table = deployment_table(load_results(folder)["records"])
    atomic_write_text(folder / "deployment.md", "# Deployment\n\n" + table + "\n")
    return records


DESCRIPTION = (
    "Export each record's model (TF SavedModel, LiteRT float32 / dynamic-range int8 / full-integer "
    "int8, ONNX; preprocessing baked in) and run every artifact in a fresh process with only its "
    "runtime on the record's raw test inputs: accuracy, macro-F1, ROC-AUC and their delta vs the "
    "Keras/scikit-learn model, agreement, size, load time, latency p50/p95/p99 (1 thread), "
    "throughput (1 thread and all), peak RSS."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``deploy`` parser."""
    p = sub.add_parser("deploy", help="export a finished run's models and benchmark each deployment format",
                       description=DESCRIPTION)
    add_record_selection(p)
    p.add_argument("--latency-calls", type=int, default=200,
                   help="single-sample calls timed per format (default 200)")
    from benchmarks.commands.args import examples

    examples(p, """  python -m benchmarks deploy results/20261206-120000 --model cnn,dnn
  python -m benchmarks deploy results/20261206-120000 --formats onnx,tflite_int8 --output /tmp/artifacts""")
    p.set_defaults(func=run)
