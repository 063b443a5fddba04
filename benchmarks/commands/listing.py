"""``list``: models and datasets, with modality, size and offline availability (no TensorFlow)."""

from __future__ import annotations

import argparse

from benchmarks.commands.args import add_data_dir
from datasets.base import LoadOptions


def run(args: argparse.Namespace) -> int:
    """Print the model and dataset tables."""
    from tabulate import tabulate

    from datasets.registry import list_datasets
    from models.registry import list_models

    models = [[m.name, m.framework, ", ".join(m.modalities), m.description] for m in list_models()]
    print("Models")
    print(tabulate(models, headers=["name", "framework", "modalities", "description"]))
    options = LoadOptions(data_dir=args.data_dir)
    rows = []
    for d in list_datasets():
        avail = d.available(options)
        where = "bundled" if d.bundled else ("cached" if avail else "download")
        rows.append([d.name, d.modality, d.num_classes, d.size, where, "yes" if avail else "no"])
    print("\nDatasets")
    print(tabulate(rows, headers=["name", "modality", "classes", "size", "source", "offline"]))
    print("\nOwn data: --dataset csv:PATH --label-column COL | npz:PATH | folder:PATH")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``list`` parser."""
    p = sub.add_parser("list", help="list models and datasets")
    add_data_dir(p, "download cache to look in (default: $ONCOBENCH_DATA or ~/.cache/oncobench/data)")
    p.set_defaults(func=run)
