"""Argument groups shared by several sub-commands, each defined once, and what they turn into."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.core.errors import OncobenchError

# A parser or an argument group: anything with add_argument.
Adder = argparse._ActionsContainer
DATA_DIR_HELP = "download cache (default: $ONCOBENCH_DATA or ~/.cache/oncobench/data)"


def names(text: str | list[str] | None, flag: str = "--model/--dataset") -> list[str] | None:
    """A comma-separated ``--model``/``--dataset`` value as a list ("a, b," -> ["a", "b"]), each
    name once; None when not given. A list (already converted by ``comma_list``) is returned as
    is; a ``multi:`` dataset keeps its comma-separated blocks (up to its ``;labels=``). A value
    that names nothing ('' or ',') is a one-line error (it used to mean "everything")."""
    if isinstance(text, list):
        return text
    if text is None:
        return None
    out: list[str] = []
    for t in text.split(","):
        if out and out[-1].lstrip().startswith("multi:") and ";" not in out[-1]:
            out[-1] += "," + t
        else:
            out.append(t)
    out = list(dict.fromkeys(t.strip() for t in out if t.strip()))
    if not out:
        raise OncobenchError(f"{flag} {text!r}: names nothing; give a name, e.g. --model logreg "
                             "(see: list), or leave the flag out")
    return out


def comma_list(text: str) -> list[str]:
    """``type=`` of every comma-separated option ("a, b," -> ["a", "b"]; see ``names``)."""
    try:
        return names(text) or []
    except OncobenchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def folder(text: str) -> str:
    """``type=`` of an option that names a folder (``--output``): one meaning everywhere."""
    return text


def file_path(text: str) -> str:
    """``type=`` of an option that names one file (``--output-file``)."""
    return text


def positive_int(text: str) -> int:
    """``type=`` of counts that must be at least 1 (``--epochs``, ``--repeats``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer of at least 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


class Deprecated(argparse.Action):
    """An old spelling of an option: still works, hidden from ``--help``, with a one-line notice."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        import sys

        print(f"note: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_selection(group: Adder, *, required: bool = False, default: str | None = None,
                  what: str = "") -> None:
    """``--model`` and ``--dataset``: comma-separated names (see: list)."""
    group.add_argument("--model", type=comma_list, required=required,
                       default=comma_list(default) if default else None, metavar="MODEL[,MODEL]",
                       help=f"model name(s), comma-separated (see: list){what}")
    group.add_argument("--dataset", type=comma_list, required=required, metavar="DATASET[,DATASET]",
                       help="dataset name(s), comma-separated, or csv:PATH / npz:PATH / folder:PATH / "
                            "multi:NAME=CSV,...;labels=CSV:COLUMN")


def add_epochs(group: Adder, help: str = "training epochs (default: the profile's)") -> None:
    group.add_argument("--epochs", type=positive_int, help=help)


def add_precision(group: Adder) -> None:
    from benchmarks.config.constants import PRECISIONS

    group.add_argument("--precision", choices=PRECISIONS, help="float policy (default float32)")


def add_jit_compile(group: Adder, default: str | None = None) -> None:
    """``--jit-compile [auto|on|off]``: XLA for the train/predict steps (alone: on)."""
    group.add_argument("--jit-compile", nargs="?", const="on", choices=("auto", "on", "off"), default=default,
                       help="XLA-compile the train/predict steps: on, off, or auto (Keras decides); "
                            "the flag alone means on")


def add_format(group: Adder) -> None:
    """``--format`` and ``--json`` of the commands that print a verdict table."""
    fmt = group.add_mutually_exclusive_group()
    fmt.add_argument("--format", choices=("table", "github", "json"), default="table",
                     help="table (terminal), github (Markdown for job summaries / PR comments) or json")
    fmt.add_argument("--json", action="store_true", help="same as --format json")


def add_output_file(group: Adder, help: str, metavar: str = "FILE", old: str | None = None) -> None:
    """``--output-file FILE`` (``old``: a deprecated spelling still accepted)."""
    group.add_argument("--output-file", type=file_path, metavar=metavar, help=help)
    if old:
        group.add_argument(old, dest="output_file", action=Deprecated, new="--output-file", type=file_path)


def add_results_dir(parser: Adder, help: str = "a run folder (or its results.json)") -> None:
    """The ``RESULTS_DIR`` positional of the commands that read a finished run."""
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help=help)


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
    da.add_argument("--complete-cases", action="store_true",
                    help="multi: drop samples missing some blocks (default: keep them, masked)")
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
        "complete_cases": True if getattr(args, "complete_cases", False) else None,
    }
    return {k: v for k, v in given.items() if v is not None}


def add_output(parser: Adder, help: str, metavar: str = "FOLDER") -> None:
    """``--output FOLDER``: the folder a command writes into (a file is ``--output-file``)."""
    parser.add_argument("--output", type=folder, metavar=metavar, help=help)


def add_plugins(parser: Adder) -> None:
    """``--plugin MODULE_OR_FILE.py`` (repeatable): import models/datasets from outside oncobench."""
    parser.add_argument("--plugin", action="append", metavar="MODULE_OR_FILE.py",
                        help="import a module or .py file that registers models/datasets with "
                             "@register_model / @register_dataset (repeatable)")
    parser.add_argument("--trust-plugins", action="store_true",
                        help="also import the plugins a run folder's suite.toml names (explain, run "
                             "--config FOLDER/suite.toml); they run code, so only for folders you trust")


def add_profile(group: Adder, default: str | None = None,
                help: str = "the profile (default: standard, or the --config file's)") -> None:
    from benchmarks.core.profiles import PROFILE_NAMES

    group.add_argument("--profile", choices=PROFILE_NAMES, default=default, help=help)


def add_profile_seeds(group: Adder) -> None:
    """``--profile``, ``--seeds``, ``--repeats``: which profile and how many repetitions."""
    add_profile(group)
    group.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (profile default)")
    group.add_argument("--repeats", type=positive_int, help="N seeds 0..N-1 (instead of --seeds)")


def add_measurement(parser: argparse.ArgumentParser) -> None:
    """The ``measurement`` group: determinism, precision, XLA, steps per execution, threads."""
    ms = parser.add_argument_group("measurement")
    ms.add_argument("--deterministic", action="store_true",
                    help="op determinism: same seed, identical metrics (slower)")
    add_precision(ms)
    add_jit_compile(ms)
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


def federated_from_args(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The ways to train ``--federated`` asks for, as the suite's ``[[federated]]`` tables (one per
    strategy; ``{"strategy": "central"}`` for the centralised run); None without the flag. The
    suite checks them (``config.suite``)."""
    if not getattr(args, "federated", None):
        for flag in ("dp_noise", "dp_clip"):
            if getattr(args, flag, None) is not None:
                raise OncobenchError(f"--{flag.replace('_', '-')} needs --federated STRATEGY")
        return None
    from benchmarks.config.federated import CENTRAL

    names = [t.strip() for t in args.federated.split(",") if t.strip()]
    if not names or len(set(names)) != len(names):
        raise OncobenchError(f"--federated {args.federated!r}: list each strategy once, e.g. fedavg,fedprox")
    return [{"strategy": CENTRAL} if name == CENTRAL else
            {"strategy": name, "clients": args.clients, "partition": args.partition, "rounds": args.rounds,
             "local_epochs": args.local_epochs, "fraction_fit": args.fraction_fit,
             "proximal_mu": args.proximal_mu, "server_lr": args.server_lr, "dp_noise": args.dp_noise,
             "dp_clip": args.dp_clip}
            for name in names]


def add_execution(parser: argparse.ArgumentParser) -> None:
    """The ``execution`` group: process isolation, parallel jobs, timeouts, executors."""
    from benchmarks.config.constants import EXECUTORS, STRATEGIES

    ex = parser.add_argument_group("execution")
    ex.add_argument("--isolate", action="store_true",
                    help="run each job in a fresh process (default: warm worker processes, TensorFlow "
                         "imported once; either way a crash fails only that job)")
    ex.add_argument("--jobs", type=int, metavar="N",
                    help="run N jobs at once, each worker on its own cores/GPU (default 1; "
                         "speed figures with N > 1 are marked)")
    ex.add_argument("--run-timeout", type=float, metavar="SECONDS",
                    help="kill a job after SECONDS and record it as failed")
    ex.add_argument("--retry-failed", action="store_true",
                    help="on resume, rerun jobs that crashed or timed out (default: keep their record)")
    ex.add_argument("--executor", choices=EXECUTORS,
                    help="local: warm worker processes, a crash fails only its job (default); "
                         "inprocess: this process (debugging); ray: Ray tasks (pip install 'oncobench[ray]')")
    ex.add_argument("--ray-address", metavar="auto|HOST:PORT",
                    help="Ray cluster to join (default: start a local Ray instance)")
    ex.add_argument("--strategy", choices=STRATEGIES,
                    help="Keras multi-device training: MirroredStrategy over the visible GPUs, or "
                         "MultiWorkerMirroredStrategy with TF_CONFIG")
    ex.add_argument("--scaling", action="store_true",
                    help="with --strategy: also time one replica and record scaling efficiency")


def execution_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``[execution]`` keys the command line gave (``api.suite`` overlays them on a suite
    file's and checks them, naming the flags)."""
    given = {"isolate": args.isolate or None, "workers": args.jobs, "run_timeout": args.run_timeout,
             "retry_failed": args.retry_failed or None, "executor": args.executor,
             "ray_address": args.ray_address}
    return {k: v for k, v in given.items() if v is not None}


def examples(parser: argparse.ArgumentParser, text: str) -> None:
    """An "examples:" section at the end of ``parser``'s ``--help``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "examples:\n" + text
