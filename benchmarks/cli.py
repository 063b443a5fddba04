"""Command line: ``oncobench COMMAND`` (list, run, tune, speed, ...), also ``python -m benchmarks``.

Argument parsing imports no TensorFlow: ``--help``, ``--version`` and ``list`` stay under a second.
The sub-commands live in ``benchmarks.commands`` (one module each, listed there in help order).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from benchmarks import __version__
from benchmarks.commands import COMMAND_MODULES
from benchmarks.core.errors import OncobenchError

PROG = "oncobench"  # the console script; ``python -m benchmarks`` passes its own name


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


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The top-level parser with every command of ``benchmarks.commands`` registered."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="oncobench: benchmark Keras architectures and classical baselines "
        "on real cancer datasets (gene expression, tabular, medical images).",
    )
    parser.add_argument("--version", action="version", version=f"oncobench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Parse ``argv`` (default: sys.argv[1:]) and run the command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        check_packages()
        parser = build_parser(prog)
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
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
