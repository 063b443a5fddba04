"""Argument groups shared by several sub-commands, each defined once, and what they turn into."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.core.errors import OncobenchError

# A parser or an argument group: anything with add_argument.
Adder = argparse._ActionsContainer
DATA_DIR_HELP = "download cache (default: $ONCOBENCH_DATA or ~/.cache/oncobench/data)"


def names(text: str | None) -> list[str] | None:
    """A comma-separated ``--model``/``--dataset`` value as a list ("a, b," -> ["a", "b"]); None
    when not given."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def add_data_dir(parser: Adder, help: str = DATA_DIR_HELP) -> None:
    """``--data-dir``: the download cache."""
    parser.add_argument("--data-dir", help=help)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """The ``data`` group: ``--data-dir``, cross-validation, preprocessing, csv and image options."""
    da = parser.add_argument_group("data")
    add_data_dir(da)
    da.add_argument("--cv", type=int, help="stratified K-fold cross-validation (datasets without an "
                                           "official split)")
    da.add_argument("--top-k-genes", type=int, help="keep the k most variable genes (fitted on train)")
    da.add_argument("--impute", choices=("median", "mean", "zero", "error"),
                    help="missing values (default: training median)")
    da.add_argument("--label-column", help="csv: the label column")
    da.add_argument("--id-column", help="csv: a sample-id column to drop")
    da.add_argument("--sep", help="csv: field separator (default ,)")
    da.add_argument("--transpose", action="store_true", help="csv: genes as rows, samples as columns")
    da.add_argument("--image-size", type=int, help="folder: resize images to N x N")
    da.add_argument("--cache-memory-gb", type=float, metavar="GB",
                    help="hold data in memory up to this size; larger data streams from disk "
                         "(default: a quarter of RAM)")


def data_options_given(args: argparse.Namespace) -> dict[str, Any]:
    """The ``LoadOptions`` fields the ``data`` group (``add_data_options``) was given (None: not given)."""
    given = {
        "data_dir": args.data_dir, "cv_folds": args.cv, "top_k_genes": args.top_k_genes,
        "impute": args.impute, "label_column": args.label_column, "id_column": args.id_column,
        "sep": args.sep, "transpose": True if args.transpose else None, "image_size": args.image_size,
        "cache_memory_gb": getattr(args, "cache_memory_gb", None),
    }
    return {k: v for k, v in given.items() if v is not None}


def add_output(parser: Adder, help: str,
               metavar: str | None = None) -> None:
    """``--output``: where a command writes."""
    parser.add_argument("--output", metavar=metavar, help=help)


def add_plugins(parser: Adder) -> None:
    """``--plugin MODULE_OR_FILE.py`` (repeatable): import models/datasets from outside oncobench."""
    parser.add_argument("--plugin", action="append", metavar="MODULE_OR_FILE.py",
                        help="import a module or .py file that registers models/datasets with "
                             "@register_model / @register_dataset (repeatable)")


def add_profile_seeds(group: Adder) -> None:
    """``--profile``, ``--seeds``, ``--repeats``: which profile and how many repetitions."""
    group.add_argument("--profile",
                       help="quick | standard | full | ci (default: standard, or the --config file's)")
    group.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (profile default)")
    group.add_argument("--repeats", type=int, help="N seeds 0..N-1 (instead of --seeds)")


def add_measurement(parser: argparse.ArgumentParser) -> None:
    """The ``measurement`` group: determinism, precision, XLA, steps per execution, threads."""
    ms = parser.add_argument_group("measurement")
    ms.add_argument("--deterministic", action="store_true",
                    help="op determinism: same seed, identical metrics (slower)")
    ms.add_argument("--precision", choices=("float32", "mixed_float16", "mixed_bfloat16"))
    ms.add_argument("--jit-compile", action="store_true", help="XLA-compile the train/predict steps")
    ms.add_argument("--steps-per-execution", type=int)
    ms.add_argument("--threads", type=int, help="TensorFlow intra-op threads (default: all cores)")
    ms.add_argument("--inter-op-threads", type=int)


def add_federated(parser: argparse.ArgumentParser) -> None:
    """The ``federated`` group: Flower strategy, clients, partition, rounds, DP."""
    fl = parser.add_argument_group("federated (Flower; pip install \"oncobench[federated]\")")
    fl.add_argument("--federated", metavar="STRATEGY[,STRATEGY]",
                    help="train with Flower: fedavg | fedprox | fedadam; a list runs each side by side, "
                         "'central' in it adds the centralised run (e.g. central,fedavg,fedprox)")
    fl.add_argument("--clients", type=int, default=5, help="number of sites (default 5)")
    fl.add_argument("--partition", default="iid",
                    help="iid | dirichlet:ALPHA (label skew, e.g. dirichlet:0.5) | by-column:COL")
    fl.add_argument("--rounds", type=int, default=10, help="federated rounds (default 10)")
    fl.add_argument("--local-epochs", type=int, default=1, help="local epochs per round (default 1)")
    fl.add_argument("--fraction-fit", type=float, default=1.0, help="fraction of sites trained per round")
    fl.add_argument("--proximal-mu", type=float, default=0.1, help="FedProx proximal weight (default 0.1)")
    fl.add_argument("--server-lr", type=float, default=0.01, help="FedAdam server learning rate")
    fl.add_argument("--dp-noise", type=float, metavar="SIGMA",
                    help="server-side fixed-clipping DP: Gaussian noise multiplier (with --dp-clip)")
    fl.add_argument("--dp-clip", type=float, metavar="C", help="DP clipping norm of a client update")


def federated_from_args(args: argparse.Namespace) -> list:
    """The ways to train ``--federated`` asks for: a ``FederatedConfig`` per strategy, ``None`` for
    ``central``; ``[None]`` without the flag."""
    from benchmarks.config.federated import CENTRAL, FederatedConfig, validate_federated

    if not getattr(args, "federated", None):
        for flag in ("dp_noise", "dp_clip"):
            if getattr(args, flag, None) is not None:
                raise OncobenchError(f"--{flag.replace('_', '-')} needs --federated STRATEGY")
        return [None]
    names = [t.strip() for t in args.federated.split(",") if t.strip()]
    if not names or len(set(names)) != len(names):
        raise OncobenchError(f"--federated {args.federated!r}: list each strategy once, e.g. fedavg,fedprox")
    out = []
    for name in names:
        if name == CENTRAL:
            out.append(None)
            continue
        out.append(validate_federated(FederatedConfig(
            strategy=name, clients=args.clients, partition=args.partition, rounds=args.rounds,
            local_epochs=args.local_epochs, fraction_fit=args.fraction_fit, proximal_mu=args.proximal_mu,
            server_lr=args.server_lr, dp_noise=args.dp_noise, dp_clip=args.dp_clip)))
    return out
def add_execution(parser: argparse.ArgumentParser) -> None:
    """The ``execution`` group: process isolation, parallel jobs, timeouts, executors."""
    ex = parser.add_argument_group("execution")
    ex.add_argument("--isolate", action="store_true",
                    help="run each job in a fresh process (own memory peak; a crash fails only that job)")
    ex.add_argument("--jobs", type=int, metavar="N",
                    help="run N jobs at once, each in a fresh process on its own cores/GPU (default 1; "
                         "speed figures with N > 1 are marked)")
    ex.add_argument("--run-timeout", type=float, metavar="SECONDS",
                    help="kill a job after SECONDS and record it as failed (implies --isolate)")
    ex.add_argument("--retry-failed", action="store_true",
                    help="on resume, rerun jobs that crashed or timed out (default: keep their record)")
    ex.add_argument("--executor", choices=("local", "ray"),
                    help="local processes (default) or Ray tasks (pip install 'oncobench[ray]')")
    ex.add_argument("--ray-address", metavar="auto|HOST:PORT",
                    help="Ray cluster to join (default: start a local Ray instance)")
    ex.add_argument("--strategy", choices=("none", "mirrored", "multiworker"),
                    help="Keras multi-device training: MirroredStrategy over the visible GPUs, or "
                         "MultiWorkerMirroredStrategy with TF_CONFIG")
    ex.add_argument("--scaling", action="store_true",
                    help="with --strategy: also time one replica and record scaling efficiency")


def execution_from_args(args: argparse.Namespace, base: dict | None = None) -> dict:
    """The keyword arguments of ``runner.execute``: ``base`` (a suite file's ``[execution]``)
    overlaid with the flags given on the command line, checked."""
    from benchmarks.config.suite import check_execution

    given = {"isolate": args.isolate or None, "workers": args.jobs, "run_timeout": args.run_timeout,
             "retry_failed": args.retry_failed or None, "executor": args.executor,
             "ray_address": args.ray_address}
    return check_execution({**(base or {}), **{k: v for k, v in given.items() if v is not None}})
