"""``run``: train and evaluate models on datasets; write results.json/.csv, summary.md."""

from __future__ import annotations

import argparse
import ast
import shlex
import sys
from pathlib import Path
from typing import Any

from benchmarks import api
from benchmarks.commands.args import (
    add_data_options,
    add_epochs,
    add_execution,
    add_federated,
    add_measurement,
    add_output,
    add_plugins,
    add_profile_seeds,
    add_selection,
    data_options_given,
    examples,
    execution_from_args,
    federated_from_args,
    names,
)
from benchmarks.config.constants import OPTIMIZERS
from benchmarks.config.suite import SUITE_FILE, Suite, check_selection
from benchmarks.core.errors import OncobenchError
from benchmarks.records.results import is_ok

__all__ = ["parse_hparams", "register", "run", "suite_from_args"]

TARGET_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")
JIT = {"on": True, "off": False, "auto": "auto"}  # --jit-compile -> RunConfig.jit_compile


def _seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise OncobenchError(f"--seeds {text!r}: expected integers like 0,1,2") from None
    if not seeds:
        raise OncobenchError(f"--seeds {text!r}: no seed given; expected integers like 0,1,2")
    return seeds


def _seeds_from_args(args: argparse.Namespace) -> tuple[int, ...] | None:
    """``--seeds`` or ``--repeats`` (None: the profile's seeds)."""
    if args.seeds is not None:
        return _seeds(args.seeds)
    if args.repeats is not None:
        if args.repeats < 1:
            raise OncobenchError(f"--repeats {args.repeats}: must be at least 1")
        return tuple(range(args.repeats))
    return None


def check_threads(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """``--threads`` / ``--inter-op-threads``, checked before TensorFlow starts (>= 1)."""
    for flag, value in (("--threads", args.threads), ("--inter-op-threads", args.inter_op_threads)):
        if value is not None and value < 1:
            raise OncobenchError(f"{flag} {value}: must be at least 1 (or leave it out for all cores)")
    return args.threads, args.inter_op_threads


def _value(text: str) -> Any:
    """A Python literal; ``true``/``false`` in any case are booleans too (as in a suite's TOML and
    the recipe's messages), where a string would be refused further on with a puzzling message."""
    if text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_hparams(items: list[str], flag: str = "--hp") -> dict[str, dict[str, Any]]:
    """``MODEL.KEY=VALUE`` items -> {model: {key: value}} (values parsed as Python literals)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, eq, value = item.partition("=")
        model, dot, key = name.partition(".")
        if not (eq and dot and model and key):
            raise OncobenchError(f"{flag} {item!r}: expected MODEL.KEY=VALUE, e.g. dnn.dropout=0.5")
        out.setdefault(model, {})[key] = _value(value)
    return out


def _target(text: str | None) -> tuple[str, float] | None:
    if not text:
        return None
    metric, eq, value = text.partition("=")
    metric = metric.strip()
    try:
        if not eq or metric not in TARGET_METRICS:
            raise ValueError
        return metric, float(value)
    except ValueError:
        raise OncobenchError(f"--target {text!r}: expected METRIC=VALUE with METRIC one of "
                             f"{', '.join(TARGET_METRICS)}, e.g. val_accuracy=0.85") from None


def suite_args(args: argparse.Namespace) -> dict[str, Any]:
    """``run``'s command line as the keyword arguments of ``api.suite``: the same mapping as a
    suite file (flags not given are left out, so the ``--config`` file's values stand)."""
    hp = parse_hparams(args.hp or [])
    if args.hub_handle:
        hp.setdefault("mobilenet_v2_hub", {})["handle"] = args.hub_handle
    if args.fine_tune:
        hp.setdefault("mobilenet_v2_hub", {})["fine_tune"] = True
    threads, inter_op = check_threads(args)
    training = {
        "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer,
        "learning_rate": args.lr, "patience": args.patience, "precision": args.precision,
        "steps_per_execution": args.steps_per_execution, "target": _target(args.target),
        "deterministic": True if args.deterministic else None,
        "jit_compile": JIT[args.jit_compile] if args.jit_compile else None, "strategy": args.strategy,
        "scaling": True if args.scaling else None, "verbose": keras_verbose() or None,
    }
    data = data_options_given(args)
    federated = federated_from_args(args)
    if federated and args.partition.startswith("by-column:"):  # the site column is no feature
        data["site_column"] = args.partition.partition(":")[2]
    return {
        "models": names(args.model), "datasets": names(args.dataset), "seeds": _seeds_from_args(args),
        "profile": args.profile, "config": args.config, "plugins": args.plugin or (), "hparams": hp,
        "recipes": parse_hparams(args.recipe or [], flag="--recipe"), "tuned": args.tuned,
        "federated": federated, "execution": execution_from_args(args), "threads": threads,
        "inter_op_threads": inter_op, "tensorboard": args.tensorboard,
        "explain": True if args.explain else None,
        **{k: v for k, v in training.items() if v is not None}, **data,
    }


def suite_from_args(args: argparse.Namespace) -> Suite:
    """The validated ``Suite``: the ``--config`` file (if any) overlaid with the command line,
    built by the same function as ``api.suite``."""
    if args.config:  # a run folder's saved suite imports its plugins only with consent (issue 27)
        from benchmarks.config.plugin_consent import check_suite_plugins

        check_suite_plugins(Path(args.config), args.plugin or (), args.trust_plugins)
    return api.suite(**suite_args(args))


def _run_dir(args: argparse.Namespace, s: Suite) -> Path | None:
    """``--output``, the latest run under results/ for ``--resume``, the suite's output, else None
    (a new run folder)."""
    if args.output:
        return Path(args.output)
    if args.resume:
        runs = sorted(p for p in api.RESULTS_ROOT.glob("*/results.json") if p.parent.name != "baselines")
        if not runs:
            raise OncobenchError(f"--resume: no earlier run under {api.RESULTS_ROOT}/; drop --resume")
        return max(runs, key=lambda p: p.stat().st_mtime).parent
    return Path(s.output) if s.output else None


def keras_verbose() -> int:
    """Keras's own per-epoch bar (stdout) only on a terminal without our run progress bar."""
    from benchmarks.execution.progress import live_wanted

    return 1 if sys.stdout.isatty() and not live_wanted(sys.stderr) else 0


def run(args: argparse.Namespace) -> int:
    """Plan, execute and summarise the requested runs; 1 when any run failed."""
    if not (args.all or args.model or args.dataset or args.config):
        raise OncobenchError("say what to run: --all, --model M[,M2] and/or --dataset D[,D2], "
                             "or --config suite.toml")
    s = check_selection(suite_from_args(args), everything=args.all, source=args.config)
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in args.argv)
    from benchmarks.execution.progress import RunProgress

    progress = RunProgress(sys.stderr)  # a bar with an ETA on a terminal, else a line per run
    try:
        store = api.run_suite(s, run_dir=_run_dir(args, s), restart=args.restart, command=command,
                              progress=progress)
    finally:
        progress.close()
    run_dir = store.run_dir
    from benchmarks.records.console_table import console_table

    print(console_table(store.records))
    print(f"\nresults: {run_dir / 'results.json'}  {run_dir / 'results.csv'}  {run_dir / 'summary.md'}"
          f"  {run_dir / SUITE_FILE}")
    if args.deploy and any(is_ok(r) for r in store.records):
        from benchmarks.commands.deploy import deploy_folder_table

        deploy_folder_table(run_dir, data_dir=s.data.data_dir)
        print(f"deployment: {run_dir / 'deployment.md'}  artifacts: {run_dir / 'artifacts'}")
    if args.report:
        from benchmarks.report import write_report

        print(f"report: {write_report(run_dir, command=command)}")
    failed = [r for r in store.records if not is_ok(r)]
    if failed:
        print(f"{len(failed)} run(s) failed; see summary.md", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` parser."""
    p = sub.add_parser("run", help="train and evaluate models on datasets",
                       description="Train and evaluate every requested (model, dataset) pair.")
    sel = p.add_argument_group("what to run")
    sel.add_argument("--all", action="store_true", help="every compatible pair over available datasets")
    add_selection(sel)
    sel.add_argument("--config", metavar="SUITE.toml",
                     help="a suite file (models, datasets, seeds, profile, [training], [data], "
                          "[hparams.MODEL], plugins); flags given here override it. Every run folder "
                          "saves its resolved suite.toml")
    add_plugins(sel)
    add_profile_seeds(sel)
    add_output(sel, "run folder (default: results/<run-id>); an existing one resumes")
    sel.add_argument("--resume", action="store_true", help="continue the latest run under results/")
    sel.add_argument("--restart", action="store_true",
                     help="move an existing run folder aside (<folder>.old-<time>) and start afresh")
    sel.add_argument("--report", action="store_true", help="write report.md/report.html at the end")
    sel.add_argument("--deploy", action="store_true",
                     help="then export every finished record's model and benchmark each deployment "
                          "format (see: deploy --help; needs oncobench[deploy])")
    sel.add_argument("--explain", action="store_true",
                     help="explain each finished run (attributions, faithfulness; see: explain --help)")
    sel.add_argument("--tensorboard", metavar="DIR",
                     help="write TensorBoard logs (one sub-folder per record; needs oncobench[tensorboard])")
    tr = p.add_argument_group("training")
    add_epochs(tr, "training epochs (default: the profile's); a two-phase model's fine-tuning "
                   "phase has its own (the model's; 30 in the full profile), e.g. "
                   "--hp mobilenet_v2_hub.fine_tune_epochs=2")
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--optimizer", choices=OPTIMIZERS)
    tr.add_argument("--lr", "--learning-rate", dest="lr", type=float)
    tr.add_argument("--patience", type=int, help="early-stopping patience (epochs)")
    tr.add_argument("--hp", action="append", metavar="MODEL.KEY=VALUE",
                    help="hyper-parameter override, repeatable (e.g. dnn.dropout=0.5)")
    tr.add_argument("--recipe", action="append", metavar="MODEL.KEY=VALUE",
                    help="training-recipe override, repeatable (e.g. cnn.class_weight='balanced'; "
                         "fields in models/recipe.py)")
    tr.add_argument("--tuned", metavar="PATH",
                    help="tuned.json from `tune`: its best hyper-parameters for each (model, dataset) "
                         "it names; records say which came from tuning")
    tr.add_argument("--hub-handle", help="TF-Hub image feature-vector URL or SavedModel path for "
                                         "mobilenet_v2_hub")
    tr.add_argument("--fine-tune", action="store_true", help="unfreeze the hub backbone for a 2nd phase")
    tr.add_argument("--target", help="time-to-target, e.g. val_accuracy=0.85")
    add_measurement(p)
    add_data_options(p)
    add_federated(p)
    add_execution(p)
    examples(p, """  python -m benchmarks run --all           # every model on every bundled dataset
  python -m benchmarks run --model dnn,logreg --dataset golub --repeats 5
  python -m benchmarks run --model cnn --dataset folder:slides/ --image-size 64 --report
  python -m benchmarks run --config results/20261206-120000/suite.toml --output results/again""")
    p.set_defaults(func=run)
