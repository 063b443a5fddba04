"""``list``: models and datasets, with modality, size, offline availability and origin (no TensorFlow)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from benchmarks.commands.args import add_data_dir, add_plugins
from benchmarks.plugins import load_plugins
from datasets.base import LoadOptions


def model_rows() -> list[dict[str, Any]]:
    """One dict per registered model: name, framework, modalities, hyper-parameters, origin."""
    from models.registry import list_models

    return [{"name": m.name, "framework": m.framework, "modalities": list(m.modalities),
             "description": m.description, "hparams": {k: _jsonable(v) for k, v in m.defaults.items()},
             "origin": m.origin} for m in list_models()]


def dataset_rows(options: LoadOptions) -> list[dict[str, Any]]:
    """One dict per registered dataset: name, modality, classes, size, source, offline, origin."""
    from datasets.registry import list_datasets

    rows = []
    for d in list_datasets():
        avail = d.available(options)
        rows.append({"name": d.name, "modality": d.modality, "classes": d.num_classes, "size": d.size,
                     "source": "bundled" if d.bundled else ("cached" if avail else "download"),
                     "offline": avail, "description": d.description, "origin": d.origin})
    return rows


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def run(args: argparse.Namespace) -> int:
    """Print the model and dataset tables (``--json``: one JSON document)."""
    from tabulate import tabulate

    load_plugins(args.plugin)
    models = model_rows()
    datasets = dataset_rows(LoadOptions(data_dir=args.data_dir))
    if args.json:
        print(json.dumps({"models": models, "datasets": datasets}, indent=1, default=str))
        return 0
    print("Models")
    print(tabulate([[m["name"], m["framework"], ", ".join(m["modalities"]), m["origin"], m["description"]]
                    for m in models], headers=["name", "framework", "modalities", "from", "description"]))
    print("\nDatasets")
    print(tabulate([[d["name"], d["modality"], d["classes"], d["size"], d["source"],
                     "yes" if d["offline"] else "no", d["origin"]] for d in datasets],
                   headers=["name", "modality", "classes", "size", "source", "offline", "from"]))
    print("\nOwn data: --dataset csv:PATH --label-column COL | npz:PATH | folder:PATH")
    print("Own models/datasets: --plugin MODULE_OR_FILE.py, or an 'oncobench.models' / "
          "'oncobench.datasets' entry point")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``list`` parser."""
    p = sub.add_parser("list", help="list models and datasets")
    add_data_dir(p, "download cache to look in (default: $ONCOBENCH_DATA or ~/.cache/oncobench/data)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    add_plugins(p)
    p.set_defaults(func=run)
