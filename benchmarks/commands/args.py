"""Argument groups shared by several sub-commands, each defined once, and what they turn into."""

from __future__ import annotations

import argparse
from typing import Any

# A parser or an argument group: anything with add_argument.
Adder = argparse._ActionsContainer
DATA_DIR_HELP = "download cache (default: $ONCOBENCH_DATA or ~/.cache/oncobench/data)"


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
