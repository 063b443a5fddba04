"""Command line: ``python -m benchmarks {list,run,download,baseline,compare,report}``.

Argument parsing imports no TensorFlow: ``--help`` and ``list`` stay under a second.
Each sub-command lives in its own module exposing ``register(subparsers)``, which adds
its parser and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from benchmarks.errors import OncobenchError

# Sub-command modules, in help order. Each must import nothing heavy at module level.
COMMAND_MODULES = (
    "benchmarks.cmd_list",
    "benchmarks.cmd_run",
    "benchmarks.cmd_download",
    "benchmarks.baseline",
    "benchmarks.commands.compare",
    "benchmarks.report",
)


def check_packages() -> None:
    """Fail in one line if another installed package shadows ours ('datasets', 'models')."""
    root = Path(__file__).resolve().parent.parent
    for name in ("datasets", "models"):
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:
            raise OncobenchError(f"cannot import oncobench's {name!r} package ({exc}); "
                                 "reinstall with: pip install -e .") from None
        if not getattr(mod, "ONCOBENCH", False):
            where = getattr(mod, "__file__", None) or list(getattr(mod, "__path__", []))
            raise OncobenchError(
                f"the import name {name!r} resolves to another package ({where}), not oncobench's "
                f"{root / name}; use a separate virtualenv or uninstall it (e.g. pip uninstall {name})"
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="oncobench: benchmark Keras architectures and classical baselines "
        "on real cancer datasets (gene expression, tabular, medical images).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a sub-command not present in this build
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        check_packages()
        parser = build_parser()
        args = parser.parse_args(argv)
        args.argv = argv
        return int(args.func(args) or 0)
    except OncobenchError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are saved; rerun the same command to resume", file=sys.stderr)
        return 130
