"""``run``: train and evaluate models on datasets; write results.json/.csv, summary.md."""

from __future__ import annotations

import argparse
import ast
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.atomic import check_writable_dir
from benchmarks.commands.args import (
    add_data_options,
    add_execution,
    add_measurement,
    add_output,
    add_profile_seeds,
    execution_from_args,
    options_from_args,
)
from benchmarks.config import get_profile, validate
from benchmarks.errors import OncobenchError
from benchmarks.results import fingerprint, is_ok

__all__ = ["config_from_args", "options_from_args", "parse_hparams", "register", "run"]

RESULTS_ROOT = Path("results")
TARGET_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")


def _csv(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


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


def parse_hparams(items: list[str]) -> dict[str, dict[str, Any]]:
    """``MODEL.KEY=VALUE`` items -> {model: {key: value}} (values parsed as Python literals)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, eq, value = item.partition("=")
        model, dot, key = name.partition(".")
        if not (eq and dot and model and key):
            raise OncobenchError(f"--hp {item!r}: expected MODEL.KEY=VALUE, e.g. dnn.dropout=0.5")
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


def config_from_args(args: argparse.Namespace):
    """The validated run ``Config``: the profile with the command line's overrides."""
    base = get_profile(args.profile)
    hp = parse_hparams(args.hp or [])
    for name, overrides in hp.items():
        from models.registry import get_model

        get_model(name).hparams(overrides)  # fail early on unknown model / hyper-parameter
    if args.hub_handle:
        hp.setdefault("mobilenet_v2_hub", {})["handle"] = args.hub_handle
    if args.fine_tune:
        hp.setdefault("mobilenet_v2_hub", {})["fine_tune"] = True
    seeds = _seeds_from_args(args)
    config = base.with_(
        epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
        learning_rate=args.lr, patience=args.patience, seeds=seeds,
        precision=args.precision, steps_per_execution=args.steps_per_execution,
        target=_target(args.target), strategy=args.strategy,
    )
    config = config.with_(
        hparams=hp or None,
        deterministic=True if args.deterministic else None,
        jit_compile=True if args.jit_compile else None,
        scaling=True if args.scaling else None,
        verbose=1 if sys.stdout.isatty() else 0,
    )
    return validate(config)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import absl.logging
    import tensorflow as tf

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    import warnings

    warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed.*")


def _run_dir(args: argparse.Namespace) -> Path:
    """``--output``, the latest run under results/ for ``--resume``, else a new run folder."""
    from benchmarks.runner import new_run_dir

    if args.output:
        return Path(args.output)
    if args.resume:
        runs = sorted(p for p in RESULTS_ROOT.glob("*/results.json") if p.parent.name != "baselines")
        if not runs:
            raise OncobenchError(f"--resume: no earlier run under {RESULTS_ROOT}/; drop --resume")
        return max(runs, key=lambda p: p.stat().st_mtime).parent
    return new_run_dir(RESULTS_ROOT)


def _same_experiment(run_dir: Path, experiment: dict[str, Any], *, restart: bool) -> dict[str, Any]:
    """Refuse to resume into ``run_dir`` unless it holds the same experiment (``--restart``: move
    it aside first); returns the experiment to store, with earlier models' hyper-parameters."""
    from benchmarks.results import RESULTS_JSON, experiment_changes, load_results, move_aside
    from benchmarks.runner import RESTART_HINT

    if not (run_dir / RESULTS_JSON).exists():
        return experiment
    if restart:
        print(f"--restart: moved the earlier results to {move_aside(run_dir)}", file=sys.stderr)
        return experiment
    doc = load_results(run_dir)
    if not doc["records"]:
        return experiment
    changes = experiment_changes(doc.get("meta") or {}, experiment)
    if changes:
        shown = "; ".join(changes[:4]) + (f"; and {len(changes) - 4} more" if len(changes) > 4 else "")
        raise OncobenchError(f"{run_dir} holds a different experiment ({shown}); {RESTART_HINT}")
    old_hp = (doc["meta"].get("experiment") or {}).get("hparams") or {}
    return {**experiment, "hparams": {**old_hp, **experiment["hparams"]}}


def run(args: argparse.Namespace) -> int:
    """Plan, execute and summarise the requested runs; 1 when any run failed."""
    if not (args.all or args.model or args.dataset):
        raise OncobenchError("say what to run: --all, or --model M[,M2] and/or --dataset D[,D2]")
    config = config_from_args(args)
    options = options_from_args(args)
    threads = check_threads(args)
    execution = execution_from_args(args)
    from benchmarks.runner import execute, experiment_of, plan_pairs

    plan = plan_pairs(_csv(args.model), _csv(args.dataset), options)
    for note in plan.skipped:
        print(f"skipped: {note}", file=sys.stderr)
    run_dir = _run_dir(args)
    check_writable_dir(run_dir)
    experiment = experiment_of(config, options, list({m.name: m for m, _ in plan.pairs}.values()))
    experiment = _same_experiment(run_dir, experiment, restart=args.restart)
    folds = options.cv_folds or 1
    n = len(plan.pairs) * len(config.seeds) * folds
    print(f"oncobench: {n} runs ({len(plan.pairs)} pairs x {len(config.seeds)} seeds"
          + (f" x {folds} folds" if folds > 1 else "") + f"), profile {config.profile} -> {run_dir}",
          file=sys.stderr)
    _quiet_tensorflow()
    meta = {
        "command": "python -m benchmarks " + " ".join(shlex.quote(a) for a in args.argv),
        "profile": config.profile,
        "seeds": list(config.seeds),
        "config": config.as_dict(),
        "experiment": experiment,
        "fingerprint": fingerprint({k: v for k, v in experiment.items() if k != "hparams"}),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    explain = None
    if args.explain:
        from benchmarks.explain.record import ExplainSettings

        explain = ExplainSettings()
    store = execute(plan, config, options, run_dir, meta=meta, threads=threads, explain=explain,
                    **execution)
    from benchmarks.tables import comparison_table

    print(comparison_table(store.records))
    print(f"\nresults: {run_dir / 'results.json'}  {run_dir / 'results.csv'}  {run_dir / 'summary.md'}")
    if args.report:
        from benchmarks.report import write_report

        print(f"report: {write_report(run_dir, command=meta['command'])}")
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
    add_profile_seeds(sel)
    add_output(sel, "run folder (default: results/<run-id>); an existing one resumes")
    sel.add_argument("--resume", action="store_true", help="continue the latest run under results/")
    sel.add_argument("--restart", action="store_true",
                     help="move an existing run folder aside (<folder>.old-<time>) and start afresh")
    sel.add_argument("--report", action="store_true", help="write report.md/report.html at the end")
    sel.add_argument("--explain", action="store_true",
                     help="explain each finished run (attributions, faithfulness; see: explain --help)")
    tr = p.add_argument_group("training")
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--optimizer", choices=("adam", "rmsprop"))
    tr.add_argument("--lr", "--learning-rate", dest="lr", type=float)
    tr.add_argument("--patience", type=int, help="early-stopping patience (epochs)")
    tr.add_argument("--hp", action="append", metavar="MODEL.KEY=VALUE",
                    help="hyper-parameter override, repeatable (e.g. dnn.dropout=0.5)")
    tr.add_argument("--hub-handle", help="TF-Hub image feature-vector URL or SavedModel path for "
                                         "mobilenet_v2_hub")
    tr.add_argument("--fine-tune", action="store_true", help="unfreeze the hub backbone for a 2nd phase")
    tr.add_argument("--target", help="time-to-target, e.g. val_accuracy=0.85")
    add_measurement(p)
    add_data_options(p)
    add_execution(p)
    p.set_defaults(func=run)
