"""``tune``: search each model's declared space on a dataset's validation data (Optuna)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks.commands.args import (
    Deprecated,
    add_data_options,
    add_epochs,
    add_output,
    add_plugins,
    add_profile,
    add_selection,
    data_options_given,
    examples,
    names,
)
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import load_plugins

RESULTS_ROOT = Path("results")


def run(args: argparse.Namespace) -> int:
    """Tune every ``--model`` on ``--dataset`` with the same budget; write tuned.json, trials.json."""
    if args.trials is None and args.budget_s is None:
        raise OncobenchError("say how long to tune: --trials N and/or --budget-s SECONDS (per model)")
    if args.trials is not None and args.trials < 1:
        raise OncobenchError(f"--trials {args.trials}: must be at least 1")
    if args.budget_s is not None and not (0 < args.budget_s < float("inf")):  # nan, inf: refused
        raise OncobenchError(f"--budget-s {args.budget_s}: must be a positive, finite number of seconds, "
                             "e.g. --budget-s 600")
    from benchmarks.config import check_seed

    check_seed(args.seed, "--seed")
    if args.inner_folds < 2:
        raise OncobenchError(f"--inner-folds {args.inner_folds}: need at least 2")
    from benchmarks.config import get_profile, validate
    from benchmarks.execution import tune
    from datasets.base import LoadOptions
    from models.registry import get_model

    if args.cv is not None:
        raise OncobenchError("--cv does not apply to tune: it scores on validation data (inner --inner-folds "
                             "on small data sets); drop --cv")
    tune.require_optuna()
    load_plugins(args.plugin)
    specs = [get_model(m) for m in names(args.model, "--model") or []]
    datasets = names(args.dataset, "--dataset") or []
    config = validate(get_profile(args.profile).with_(epochs=args.epochs))
    from benchmarks.api import quiet_tensorflow
    from benchmarks.config.suite import check_options
    from benchmarks.core.atomic import check_writable_dir
    from benchmarks.execution.runner import new_run_dir

    given = data_options_given(args)
    if "data_dir" in given:
        given["data_dir"] = Path(given["data_dir"])
    options = check_options(LoadOptions(seed=args.seed, **given))
    out = Path(args.output) if args.output else new_run_dir(RESULTS_ROOT / "tuning")
    check_writable_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    storage = args.optuna_storage or tune.default_storage(out)
    quiet_tensorflow()
    try:
        results = _tune_all(args, specs, datasets, options, config, out, storage)
    except KeyboardInterrupt:
        again = " ".join(shlex.quote(a) for a in args.argv)
        if not args.output:
            again += f" --output {shlex.quote(str(out))}"
        print(f"\ninterrupted: finished trials are stored in {storage}; resume with: "
              f"python -m benchmarks {again}", file=sys.stderr)
        return 130
    if not results:
        raise OncobenchError("nothing tuned: no model accepts the dataset's data")
    meta = {"command": "python -m benchmarks " + " ".join(shlex.quote(a) for a in args.argv),
            "metric": args.objective, "direction": tune.OBJECTIVES[args.objective], "trials": args.trials,
            "budget_s": args.budget_s, "seed": args.seed, "folds": args.inner_folds,
            "profile": config.profile,
            "epochs": config.epochs, "sampler": "TPE", "pruner": "median (Keras per-epoch val_loss; "
                                                                 "per-fold objective)",
            "storage": storage,
            "objective_on": f"validation only: inner stratified {args.inner_folds}-fold over train+val under "
                            f"{tune.SMALL_TRAIN} training samples, else the validation split"}
    path = tune.write_tuned(out, results, meta)
    print(f"\ntuned: {path}  trials: {out / tune.TRIALS_JSON}  optuna storage: {storage}")
    print(f"use: python -m benchmarks run --tuned {path} ...")
    return 0


def _tune_all(args: argparse.Namespace, specs: list, datasets: list[str], options, config, out: Path,
              storage: str) -> list:
    """Tune every (model, dataset) pair; each trial is stored in ``storage`` as it finishes."""
    from benchmarks.execution import tune
    from datasets.registry import get_dataset

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    results = []
    for name in datasets:
        ds = get_dataset(name).load(options)
        for spec in specs:
            if not spec.accepts(ds.modality):
                print(f"skipped: {spec.name} does not accept {ds.modality} data ({name})", file=sys.stderr)
                continue
            r = tune.tune_pair(spec, ds, config, trials=args.trials, budget_s=args.budget_s,
                               metric=args.objective, seed=args.seed, folds=args.inner_folds,
                               work_dir=out / "work",
                               storage=storage, log=log)
            done = sum(1 for t in r.trials if t["state"] == "complete")
            pruned = sum(1 for t in r.trials if t["state"] == "pruned")
            default = "n/a" if r.default_value is None else f"{r.default_value:.4f}"
            print(f"{spec.name} on {name}: {len(r.trials)} trials ({done} complete, {pruned} pruned) in "
                  f"{r.elapsed_s:.0f}s; validation {args.objective} default {default} -> best "
                  f"{r.best_value:.4f}")
            results.append(r)
    return results


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tune`` parser."""
    p = sub.add_parser("tune", help="search hyper-parameters on validation data (Optuna, TPE)",
                       description="Give every model the same budget (trials or wall time) to search its "
                                   "declared space with Optuna's TPE sampler and median pruning. The "
                                   "objective uses validation data only; the test split is never read. "
                                   "Needs: pip install 'oncobench[tune]'.")
    add_selection(p, required=True)
    add_plugins(p)
    p.add_argument("--trials", type=int, help="trials per (model, dataset)")
    p.add_argument("--budget-s", type=float, help="wall-time budget per (model, dataset), seconds")
    p.add_argument("--objective", default="log_loss", choices=("log_loss", "roc_auc", "accuracy",
                                                            "balanced_accuracy"),
                   help="validation objective (default log_loss: informative on small folds)")
    p.add_argument("--metric", dest="objective", action=Deprecated, new="--objective",
                   choices=("log_loss", "roc_auc", "accuracy", "balanced_accuracy"))
    p.add_argument("--inner-folds", type=int, default=3,
                   help="inner cross-validation folds for small data sets (default 3)")
    p.add_argument("--folds", dest="inner_folds", action=Deprecated, new="--inner-folds", type=int)
    add_profile(p, default="standard", help="training profile of each trial (default standard)")
    add_epochs(p, "epochs per trial (default: the profile's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler, splits and training")
    add_output(p, "folder for tuned.json, trials.json and optuna.db (default: results/tuning/<time>); "
                  "an existing one resumes its stored trials")
    p.add_argument("--optuna-storage", metavar="URL",
                   help="Optuna storage every trial is saved to as it finishes (default: "
                        "sqlite:///OUTPUT/optuna.db); a rerun resumes it, and optuna-dashboard URL "
                        "shows it")
    add_data_options(p)
    examples(p, """  python -m benchmarks tune --model dnn,logreg --dataset golub --trials 20
  python -m benchmarks run --model dnn,logreg --dataset golub --tuned results/tuning/<run>/tuned.json""")
    p.set_defaults(func=run)
