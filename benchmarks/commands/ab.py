"""``ab BASE_REV [HEAD_REV]``: paired A/B speed comparison of two revisions on this machine.

Exit code 0: nothing worse; 1: something worse (same verdict table as ``compare``); 2: bad input;
3: the comparison cannot be made here (base revision cannot run, dependencies differ): CI skips.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.compare.thresholds import DEFAULT_THRESHOLDS
from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import OncobenchError

DEFAULT_MODELS = "logreg,dnn"
DEFAULT_DATASETS = "wisconsin"
SKIP_PREFIX = "ab skipped:"


def _csv(text: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    if not items:
        raise OncobenchError(f"{text!r}: expected comma-separated names, e.g. {DEFAULT_MODELS}")
    return items


def _check(args: argparse.Namespace) -> None:
    if args.rounds < 2:
        raise OncobenchError(f"--rounds {args.rounds}: need at least 2 rounds for a paired interval "
                             "(3-5 recommended)")
    if args.epochs is not None and args.epochs < 2:
        raise OncobenchError(f"--epochs {args.epochs}: need at least 2 (the first epoch is excluded "
                             "from the steady training throughput)")
    if args.repeats < 1:
        raise OncobenchError(f"--repeats {args.repeats}: must be at least 1 (3 recommended)")
    if not 0 < args.confidence < 1:
        raise OncobenchError(f"--confidence {args.confidence}: must be in (0, 1), e.g. 0.95")


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
    _interrupt_on_sigterm()  # a cancelled CI job still removes the temporary worktrees
    try:
        with ab.revisions(repo, args.base, args.head) as (base, head):
            _progress(f"{base.label} vs {head.label}, {args.rounds} rounds -> {out}")
            if args.micro:
                cmp = ab.micro_ab(base, head, args.rounds, out, args.micro_threshold, args.micro_k,
                                  confidence=args.confidence, progress=_progress)
            else:
                settings = ab.AbSettings(_csv(args.model), _csv(args.dataset), args.rounds, args.epochs,
                                         args.repeats)
                runs = ab.run_rounds(base, head, settings, out, progress=_progress)
                cmp = ab.compare_runs(runs, th, confidence=args.confidence, method=args.ci)
    except ab.AbUnavailable as exc:
        print(f"{SKIP_PREFIX} {exc}", file=sys.stderr)
        return exc.exit_code
    from benchmarks.compare import render

    text = render(cmp, "json" if args.json else args.format, "speed")
    if args.report:
        atomic_write_text(Path(args.report), text)
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
    p.add_argument("--model", default=DEFAULT_MODELS,
                   help=f"models, comma-separated (default {DEFAULT_MODELS})")
    p.add_argument("--dataset", default=DEFAULT_DATASETS,
                   help=f"datasets, comma-separated (default {DEFAULT_DATASETS})")
    p.add_argument("--rounds", type=int, default=5, help="paired rounds (default 5; CI uses 3)")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs (seeds) per model, revision and round; the round keeps the best (default 3)")
    p.add_argument("--epochs", type=int, help="training epochs per run, no early stopping (default: the "
                                              "speed profile's)")
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
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--format", choices=("table", "github", "json"), default="table",
                     help="table (default), github (markdown) or json")
    fmt.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--output", help="folder for the runs and logs (default results/ab/<time>)")
    p.add_argument("--report", help="also write the verdict table to this file")
    p.set_defaults(func=run)
