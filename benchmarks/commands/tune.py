"""``tune``: search each model's declared space on a dataset's validation data (Optuna)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks.commands.args import add_output, add_plugins
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import load_plugins

RESULTS_ROOT = Path("results")


def run(args: argparse.Namespace) -> int:
    """Tune every ``--model`` on ``--dataset`` with the same budget; write tuned.json, trials.json."""
    if args.trials is None and args.budget_s is None:
        raise OncobenchError("say how long to tune: --trials N and/or --budget-s SECONDS (per model)")
    if args.trials is not None and args.trials < 1:
        raise OncobenchError(f"--trials {args.trials}: must be at least 1")
    if args.budget_s is not None and args.budget_s <= 0:
        raise OncobenchError(f"--budget-s {args.budget_s}: must be positive")
    if args.folds < 2:
        raise OncobenchError(f"--folds {args.folds}: need at least 2")
    from benchmarks.config import get_profile, validate
    from benchmarks.execution import tune
    from datasets.base import LoadOptions
    from datasets.registry import get_dataset
    from models.registry import get_model

    tune.require_optuna()
    load_plugins(args.plugin)
    specs = [get_model(m.strip()) for m in args.model.split(",") if m.strip()]
    datasets = [d.strip() for d in args.dataset.split(",") if d.strip()]
    config = validate(get_profile(args.profile).with_(epochs=args.epochs))
    from benchmarks.api import quiet_tensorflow
    from benchmarks.execution.runner import new_run_dir

    out = Path(args.output) if args.output else new_run_dir(RESULTS_ROOT / "tuning")
    quiet_tensorflow()
    results = []
    for name in datasets:
        ds = get_dataset(name).load(LoadOptions(seed=args.seed))
        for spec in specs:
            if not spec.accepts(ds.modality):
                print(f"skipped: {spec.name} does not accept {ds.modality} data ({name})", file=sys.stderr)
                continue
            r = tune.tune_pair(spec, ds, config, trials=args.trials, budget_s=args.budget_s,
                               metric=args.metric, seed=args.seed, folds=args.folds, work_dir=out / "work")
            done = sum(1 for t in r.trials if t["state"] == "complete")
            pruned = sum(1 for t in r.trials if t["state"] == "pruned")
            print(f"{spec.name} on {name}: {len(r.trials)} trials ({done} complete, {pruned} pruned) in "
                  f"{r.elapsed_s:.0f}s; validation {args.metric} default {r.default_value} -> best "
                  f"{r.best_value:.4f}")
            results.append(r)
    if not results:
        raise OncobenchError("nothing tuned: no model accepts the dataset's data")
    meta = {"command": "python -m benchmarks " + " ".join(shlex.quote(a) for a in args.argv),
            "metric": args.metric, "direction": tune.OBJECTIVES[args.metric], "trials": args.trials,
            "budget_s": args.budget_s, "seed": args.seed, "folds": args.folds, "profile": config.profile,
            "epochs": config.epochs, "sampler": "TPE", "pruner": "median (Keras per-epoch val_loss; "
                                                                 "per-fold objective)",
            "objective_on": f"validation only: inner stratified {args.folds}-fold over train+val under "
                            f"{tune.SMALL_TRAIN} training samples, else the validation split"}
    path = tune.write_tuned(out, results, meta)
    print(f"\ntuned: {path}  trials: {out / tune.TRIALS_JSON}")
    print(f"use: python -m benchmarks run --tuned {path} ...")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` parser."""
    p = sub.add_parser("tune", help="search hyper-parameters on validation data (Optuna, TPE)",
                       description="Give every model the same budget (trials or wall time) to search its "
                                   "declared space with Optuna's TPE sampler and median pruning. The "
                                   "objective uses validation data only; the test split is never read. "
                                   "Needs: pip install 'oncobench[tune]'.")
    p.add_argument("--model", required=True, help="model name(s), comma-separated")
    add_plugins(p)
    p.add_argument("--dataset", required=True, help="dataset name(s), comma-separated")
    p.add_argument("--trials", type=int, help="trials per (model, dataset)")
    p.add_argument("--budget-s", type=float, help="wall-time budget per (model, dataset), seconds")
    p.add_argument("--metric", default="log_loss", choices=("log_loss", "roc_auc", "accuracy",
                                                            "balanced_accuracy"),
                   help="validation objective (default log_loss: informative on small folds)")
    p.add_argument("--folds", type=int, default=3, help="inner folds for small data sets (default 3)")
    p.add_argument("--profile", default="standard", help="training profile of each trial (default standard)")
    p.add_argument("--epochs", type=int, help="epochs per trial (default: the profile's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler, splits and training")
    add_output(p, "folder for tuned.json and trials.json (default: results/tuning/<time>)")
    p.set_defaults(func=run)
