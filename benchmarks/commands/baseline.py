"""``baseline save|list``: store a run's records as a named baseline, list saved baselines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import add_results_dir, examples
from benchmarks.core.errors import OncobenchError
from benchmarks.records.baseline import (
    BASELINES_DIR,
    describe_machine,
    list_baselines,
    load_side,
    record_pairs,
    save_baseline,
)


def save(args: argparse.Namespace) -> int:
    """``baseline save``: write results/baselines/NAME.json and describe it."""
    out = save_baseline(args.results_dir, args.name, baselines_dir=Path(args.dir), force=args.force,
                        keep_scores=args.keep_scores)
    side = load_side(out)
    failed = sum(1 for r in side.records if r.get("status", "ok") != "ok")
    print(f"saved baseline {side.label!r}: {len(side.records)} records, {len(record_pairs(side.records))} "
          f"(model, dataset) pairs, {describe_machine(side.machine)} -> {out}")
    if failed:
        print(f"note: {failed} failed record(s) saved as failed; compare reports a pair that fails in "
              "both as 'same'", file=sys.stderr)
    return 0


def list_(args: argparse.Namespace) -> int:
    """``baseline list``: one table row per saved baseline."""
    from tabulate import tabulate

    if Path(args.dir).exists() and not Path(args.dir).is_dir():
        raise OncobenchError(f"--dir {args.dir}: is a file, not a folder; give the folder that holds the "
                             "baselines (default results/baselines)")
    rows = list_baselines(Path(args.dir))
    if not rows:
        print(f"no baselines under {args.dir}/; save one with: python -m benchmarks baseline save "
              "results/<run-id> --name NAME")
        return 0
    table = [[r["name"], "unreadable: " + r["error"]] if "error" in r else
             [r["name"], r["created_at"] or "n/a", r["profile"] or "n/a",
              f"{r['records']}" + (f" ({r['failed']} failed)" if r["failed"] else ""), len(r["pairs"]),
              r["machine"], r["tensorflow"] or "n/a"] for r in rows]
    print(tabulate(table, headers=["name", "created", "profile", "records", "pairs", "machine", "TF"],
                   disable_numparse=True))
    return 0


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default=str(BASELINES_DIR),
                        help=f"baselines folder (default: {BASELINES_DIR})")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``baseline`` parser with its ``save`` and ``list`` actions."""
    p = sub.add_parser("baseline", help="save or list baselines (results/baselines/)",
                       description="Store a run's records as a baseline for `compare`.")
    bsub = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    s = bsub.add_parser("save", help="store a run's records as results/baselines/NAME.json")
    add_results_dir(s, "run folder (or its results.json)")
    s.add_argument("--name", help="baseline name (default: the run id)")
    s.add_argument("--force", action="store_true", help="replace an existing baseline of that name")
    s.add_argument("--keep-scores", action="store_true",
                   help="keep per-sample test labels/scores (bigger file; default: dropped)")
    _add_dir(s)
    examples(s, """  python -m benchmarks baseline save results/ci/run --name ci --force""")
    s.set_defaults(func=save)
    ls = bsub.add_parser("list", help="list saved baselines")
    _add_dir(ls)
    examples(ls, """  python -m benchmarks baseline list --dir results/baselines""")
    ls.set_defaults(func=list_)
