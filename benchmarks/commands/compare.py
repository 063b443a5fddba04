"""``compare BASELINE CURRENT``: the command line of ``benchmarks.compare``.

Exit code 0: nothing worse; 1: something worse or missing; 2: bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.compare.thresholds import DEFAULT_THRESHOLDS, Thresholds
from benchmarks.compare.verdicts import FAIL_ON
from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import OncobenchError
from benchmarks.metrics import catalogue
from benchmarks.records.baseline import BASELINES_DIR, load_side


def _metrics_arg(text: str | None) -> list[str] | None:
    """``--metrics a,b``: catalogue metric names, or None for the defaults."""
    if not text:
        return None
    names = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in names if m not in catalogue.METRICS]
    if bad:
        raise OncobenchError(f"--metrics: unknown metric(s) {', '.join(bad)}; "
                             f"valid: {', '.join(sorted(catalogue.METRICS))}")
    return names


def run(args: argparse.Namespace) -> int:
    from benchmarks.compare import compare_records, render

    th = Thresholds.load(args.thresholds)
    metrics = _metrics_arg(args.metrics)
    base = load_side(args.baseline, Path(args.baselines_dir))
    cur = load_side(args.current, Path(args.baselines_dir))
    cmp = compare_records(base.records, cur.records, th, metrics,
                          baseline_label=base.label, current_label=cur.label,
                          baseline_machine=base.machine, current_machine=cur.machine)
    fmt = "json" if args.json else args.format
    text = render(cmp, fmt, args.fail_on)
    if args.output:
        atomic_write_text(Path(args.output), text)
    sys.stdout.write(text)
    failing = cmp.failing(args.fail_on)
    if failing:
        names = ", ".join(sorted({f"{r.model}/{r.dataset} {r.label}"
                                  + (" (missing)" if r.verdict == "missing" else "") for r in failing}))
        print(f"regression: {names}", file=sys.stderr)
    return cmp.exit_code(args.fail_on)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare a run with a baseline: better / same / worse per metric",
        description="Compare CURRENT with BASELINE per (model, dataset) and metric. Exit code 0: nothing "
                    "worse; 1: something worse, or missing from CURRENT; 2: bad input. Per-metric defaults: "
                    "benchmarks/metrics/catalogue.py; other thresholds: benchmarks/compare/thresholds.toml.")
    p.add_argument("baseline", metavar="BASELINE",
                   help="baseline file, baseline name, run folder or results.json")
    p.add_argument("current", metavar="CURRENT", help="run folder, results.json or baseline")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--format", choices=("table", "github", "json"), default="table",
                     help="table (default), github (markdown for a PR comment) or json")
    fmt.add_argument("--json", action="store_true", help="same as --format json")
    p.add_argument("--output", help="also write the output to this file")
    p.add_argument("--thresholds", help=f"TOML file merged over the defaults ({DEFAULT_THRESHOLDS.name})")
    p.add_argument("--metrics", help="comma-separated metrics to compare (default: the catalogue's "
                                     "compared metrics, or the thresholds file's [quality]/[speed] metrics)")
    p.add_argument("--fail-on", choices=FAIL_ON, default="any",
                   help="which worse or missing rows give exit code 1: any (default), quality or speed "
                        "(runs that now fail always count)")
    p.add_argument("--baselines-dir", default=str(BASELINES_DIR),
                   help=f"where baseline names are looked up (default: {BASELINES_DIR})")
    p.set_defaults(func=run)
