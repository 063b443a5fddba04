"""``download``: fetch remote datasets ahead of time into the data folder (no TensorFlow)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.commands.args import add_data_dir, add_plugins
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import load_plugins


def run(args: argparse.Namespace) -> int:
    """Download (and verify) the named datasets; print where each file lies."""
    from benchmarks.core.paths import data_dir
    from datasets.base import LoadOptions
    from datasets.registry import get_dataset, remote_datasets

    load_plugins(args.plugin)  # a plugin's remote datasets download like the built-in ones
    remote = {d.name: d for d in remote_datasets()}
    names = list(args.names)
    if args.all_remote:
        names += [n for n in remote if n not in names]
    if not names:
        raise OncobenchError("say what to download: python -m benchmarks download NAME... or --all-remote; "
                             f"downloadable: {', '.join(sorted(remote))}")
    options = LoadOptions(data_dir=Path(args.data_dir) if args.data_dir else None)
    for name in names:
        spec = get_dataset(name)
        if name not in remote:
            what = "ships with oncobench" if spec.bundled else "is local data"
            print(f"{name}: {what}; nothing to download")
            continue
        for path in spec.fetch(options):
            print(f"{name}: {path}")
    print(f"data folder: {data_dir(options.data_dir)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``download`` parser."""
    p = sub.add_parser("download", help="download remote datasets ahead of time",
                       description="Download and verify remote datasets (UCI RNA-Seq, MedMNIST sizes) into "
                                   "the data folder, so that later runs need no network.")
    p.add_argument("names", nargs="*", metavar="NAME", help="dataset names (see: list)")
    p.add_argument("--all-remote", action="store_true", help="every downloadable dataset (several GB)")
    add_plugins(p)
    add_data_dir(p, "where to put them (default: $ONCOBENCH_DATA or ~/.cache/oncobench/data)")
    p.set_defaults(func=run)
