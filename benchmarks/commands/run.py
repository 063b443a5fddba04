"""``run``: train and evaluate models on datasets; write results.json/.csv, summary.md."""

from __future__ import annotations

import argparse
import ast
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import api
from benchmarks.commands.args import (
    add_data_options,
    add_execution,
    add_federated,
    add_measurement,
    add_output,
    add_plugins,
    add_profile_seeds,
    data_options_given,
    execution_from_args,
    federated_from_args,
    names,
)
from benchmarks.config import validate
from benchmarks.config.suite import SUITE_FILE, Suite
from benchmarks.core.errors import OncobenchError
from benchmarks.records.results import is_ok

__all__ = ["parse_hparams", "register", "run", "suite_from_args"]

TARGET_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")


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


def suite_from_args(args: argparse.Namespace) -> Suite:
    """The validated ``Suite``: the ``--config`` file (if any) overlaid with the command line."""
    hp = parse_hparams(args.hp or [])
    if args.hub_handle:
        hp.setdefault("mobilenet_v2_hub", {})["handle"] = args.hub_handle
    if args.fine_tune:
        hp.setdefault("mobilenet_v2_hub", {})["fine_tune"] = True
    seeds = _seeds_from_args(args)
    threads, inter_op = check_threads(args)
    training = {
        "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer,
        "learning_rate": args.lr, "patience": args.patience, "precision": args.precision,
        "steps_per_execution": args.steps_per_execution, "target": _target(args.target),
        "deterministic": True if args.deterministic else None,
        "jit_compile": True if args.jit_compile else None,
    }
    s = api.suite(names(args.model), names(args.dataset), seeds, args.profile, config=args.config,
                  plugins=args.plugin or (), hparams=hp, tensorboard=args.tensorboard,
                  explain=True if args.explain else None,
                  **{k: v for k, v in training.items() if v is not None}, **data_options_given(args))
    recipes = parse_hparams(args.recipe or [], flag="--recipe")
    for name, overrides in s.config.recipes.items():  # the suite file's, overlaid with the flags
        recipes[name] = {**overrides, **recipes.get(name, {})}
    for name, overrides in recipes.items():
        from models.registry import get_model

        get_model(name).recipe_for(overrides)  # fail early on an unknown field or value
    tuned = None
    if args.tuned:
        from benchmarks.execution.tune import load_tuned

        tuned = load_tuned(Path(args.tuned))
    config = validate(s.config.with_(recipes=recipes or None, tuned=tuned, strategy=args.strategy,
                                     scaling=True if args.scaling else None,
                                     verbose=1 if sys.stdout.isatty() else 0))
    ways = tuple(federated_from_args(args))
    if any(ways):
        s = replace(s, ways=ways)
        if args.partition.startswith("by-column:"):  # the site column is no feature
            s = replace(s, data=replace(s.data, site_column=args.partition.partition(":")[2]))
    return replace(s, config=config, execution=execution_from_args(args, s.execution),
                   threads=threads or s.threads, inter_op_threads=inter_op or s.inter_op_threads)


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


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Plan, execute and summarise the requested runs; 1 when any run failed."""
    if not (args.all or args.model or args.dataset or args.config):
        raise OncobenchError("say what to run: --all, --model M[,M2] and/or --dataset D[,D2], "
                             "or --config suite.toml")
    s = suite_from_args(args)
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in args.argv)
    store = api.run_suite(s, run_dir=_run_dir(args, s), restart=args.restart, command=command,
                          progress=_stderr)
    run_dir = store.run_dir
    from benchmarks.records.tables import comparison_table

    print(comparison_table(store.records))
    print(f"\nresults: {run_dir / 'results.json'}  {run_dir / 'results.csv'}  {run_dir / 'summary.md'}"
          f"  {run_dir / SUITE_FILE}")
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
    sel.add_argument("--model", help="model name(s), comma-separated (see: list)")
    sel.add_argument("--dataset", help="dataset name(s), comma-separated, or csv:PATH / npz:PATH / "
                                       "folder:PATH")
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
    sel.add_argument("--explain", action="store_true",
                     help="explain each finished run (attributions, faithfulness; see: explain --help)")
    sel.add_argument("--tensorboard", metavar="DIR",
                     help="write TensorBoard logs (one sub-folder per record; needs oncobench[tensorboard])")
    tr = p.add_argument_group("training")
    tr.add_argument("--epochs", type=int,
                    help="training epochs (default: the profile's); a two-phase model's fine-tuning "
                         "phase has its own (the model's; 30 in the full profile), e.g. "
                         "--hp mobilenet_v2_hub.fine_tune_epochs=2")
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--optimizer", choices=("adam", "rmsprop"))
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
    p.set_defaults(func=run)
