"""``ab BASE_REV [HEAD_REV]``: paired A/B speed comparison of two revisions on this machine.

Exit code 0: nothing worse; 1: something worse (same verdict table as ``compare``); 2: bad input;
3: the comparison cannot be made here (base revision cannot run, dependencies differ): CI skips.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.commands.args import (
    Deprecated,
    add_epochs,
    add_format,
    add_output,
    add_output_file,
    add_selection,
    comma_list,
    examples,
    positive_int,
)
from benchmarks.compare.thresholds import DEFAULT_THRESHOLDS
from benchmarks.core.atomic import atomic_write_text, check_writable_dir
from benchmarks.core.errors import OncobenchError

DEFAULT_MODELS = "logreg,dnn"
DEFAULT_DATASETS = "wisconsin"
SKIP_PREFIX = "ab skipped:"


def _check(args: argparse.Namespace) -> None:
    if args.rounds < 2:
        raise OncobenchError(f"--rounds {args.rounds}: need at least 2 rounds for a paired interval "
                             "(3-5 recommended)")
    if args.epochs is not None and args.epochs < 2:
        raise OncobenchError(f"--epochs {args.epochs}: need at least 2 (the first epoch is excluded "
                             "from the steady training throughput)")
    if not 0 < args.confidence < 1:
        raise OncobenchError(f"--confidence {args.confidence}: must be in (0, 1), e.g. 0.95")
    if not args.micro:  # an incompatible or unknown pair is refused here, not after both trees start
        from benchmarks.execution.runner import plan_pairs
        from datasets.base import LoadOptions

        plan_pairs(list(args.model), list(args.dataset), LoadOptions())


def _progress(msg: str) -> None:
    print(f"ab: {msg}", file=sys.stderr, flush=True)


def _interrupt_on_sigterm() -> None:
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        pass


def run(args: argparse.Namespace) -> int:
    """Run both revisions in alternating rounds and print the paired verdict table."""
    from benchmarks.compare.thresholds import Thresholds
    from benchmarks.speed import ab

    _check(args)
    th = Thresholds.load(args.thresholds)
    repo = ab.repo_root()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = Path(args.output or repo / "results" / "ab" / stamp).resolve()
    check_writable_dir(out)
    _interrupt_on_sigterm()  # a cancelled CI job still removes the temporary worktrees
    try:
        with ab.revisions(repo, args.base, args.head) as (base, head):
            _progress(f"{base.label} vs {head.label}, {args.rounds} rounds -> {out}")
            if args.micro:
                cmp = ab.micro_ab(base, head, args.rounds, out, args.micro_threshold, args.micro_k,
                                  confidence=args.confidence, progress=_progress)
            else:
                settings = ab.AbSettings(tuple(args.model), tuple(args.dataset), args.rounds, args.epochs,
                                         args.best_of)
                runs = ab.run_rounds(base, head, settings, out, progress=_progress)
                cmp = ab.compare_runs(runs, th, confidence=args.confidence, method=args.ci)
    except ab.AbUnavailable as exc:
        print(f"{SKIP_PREFIX} {exc}", file=sys.stderr)
        return exc.exit_code
    from benchmarks.compare import render

    text = render(cmp, "json" if args.json else args.format, "speed")
    if args.output_file:
        atomic_write_text(Path(args.output_file), text)
    atomic_write_text(out / ("ab.json" if args.json or args.format == "json" else "ab.md"), text)
    sys.stdout.write(text)
    failing = cmp.failing("speed")
    if failing:
        names = ", ".join(sorted({f"{r.model}/{r.dataset} {r.label}" for r in failing}))
        print(f"speed regression: {names}", file=sys.stderr)
    return cmp.exit_code("speed")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ab`` parser."""
    p = sub.add_parser(
        "ab", help="paired A/B speed comparison of two git revisions on this machine",
        description="Check out BASE_REV (and HEAD_REV; default: the working tree) in temporary git "
                    "worktrees, run the speed benchmarks of both alternately (A B, B A, ...) from this "
                    "Python environment, and compare them per round: worse only when the confidence "
                    "interval of the paired ratio lies beyond the threshold. Exit code 0: nothing worse; "
                    "1: something worse; 2: bad input; 3: cannot compare here (base cannot run, "
                    "dependencies differ).")
    p.add_argument("base", metavar="BASE_REV", help="base revision (branch, tag, commit, HEAD~1, ...)")
    p.add_argument("head", metavar="HEAD_REV", nargs="?",
                   help="head revision (default: the working tree, uncommitted changes included)")
    add_selection(p, what=f" (default {DEFAULT_MODELS} on {DEFAULT_DATASETS})")
    p.set_defaults(model=comma_list(DEFAULT_MODELS), dataset=comma_list(DEFAULT_DATASETS))
    p.add_argument("--rounds", type=int, default=5, help="paired rounds (default 5; CI uses 3)")
    p.add_argument("--best-of", type=positive_int, default=3,
                   help="runs (seeds) per model, revision and round; the round keeps the best (default 3)")
    p.add_argument("--repeats", dest="best_of", action=Deprecated, new="--best-of", type=positive_int)
    add_epochs(p, "training epochs per run, no early stopping (default: the speed profile's)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence of the interval (default 0.95)")
    p.add_argument("--ci", choices=("t", "bootstrap"), default="t",
                   help="interval of the mean paired log ratio: Student t (default) or bootstrap")
    p.add_argument("--thresholds", help=f"TOML file merged over the defaults ({DEFAULT_THRESHOLDS.name}); "
                                        "[speed] rel and per-metric rel apply")
    p.add_argument("--micro", action="store_true",
                   help="instead: the pytest-benchmark micro-benchmarks (tests/perf/test_micro.py)")
    p.add_argument("--micro-k", help="with --micro: pytest -k expression selecting micro-benchmarks")
    p.add_argument("--micro-threshold", type=float, default=0.10,
                   help="with --micro: relative threshold on the time per call (default 0.10)")
    add_format(p)
    add_output(p, "folder for the runs and logs (default results/ab/<time>)")
    add_output_file(p, "also write the verdict table to this file", old="--report")
    examples(p, """  python -m benchmarks ab HEAD~1           # the working tree against the last commit
  python -m benchmarks ab main HEAD --rounds 3 --format github --output-file ab.md""")
    p.set_defaults(func=run)
