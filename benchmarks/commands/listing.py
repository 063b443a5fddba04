"""``list``: models and datasets, with modality, size, offline availability and origin (no TensorFlow)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from benchmarks.commands.args import add_data_dir, add_plugins
from benchmarks.core.plugins import load_plugins
from datasets.base import LoadOptions

DATA_ROOT = Path(__file__).resolve().parents[2] / "datasets" / "data"


def human_bytes(n: float | None) -> str:
    """1536 -> '1.5 KiB'; None -> '-'."""
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def memory_bytes(size: str, modality: str) -> int | None:
    """Bytes of a dataset's features in memory, from its size summary ("546/78/156 x 28x28x1",
    "801 x 20531 genes"): images stay uint8 (1 byte a pixel), other features are float32."""
    left, sep, right = size.partition(" x ")
    if not sep or not right.split():
        return None
    samples = sum(int(v) for v in re.findall(r"\d+", left))
    dims = re.findall(r"\d+", right.split()[0])
    if not samples or not dims:
        return None
    per = 1
    for d in dims:
        per *= int(d)
    return samples * per * (1 if modality == "image" else 4)


def disk_bytes(spec: Any, options: LoadOptions) -> int | None:
    """Bytes of a dataset's files on this machine (with any ``.npy`` cache beside them); None when
    none is here."""
    from datasets import download

    root = download.root_of(options)
    paths = [r.path(root) for r in spec.remotes]
    if spec.bundled:
        paths = [p for name in spec.provenance.files for p in DATA_ROOT.rglob(name)]
    paths = [p for p in paths if p.is_file()]
    if not paths:
        return None
    caches = [p.parent / f".{p.name}.npy-cache" for p in paths]
    return sum(p.stat().st_size for p in paths) + sum(
        f.stat().st_size for c in caches if c.is_dir() for f in c.iterdir() if f.is_file())


def model_rows() -> list[dict[str, Any]]:
    """One dict per registered model: name, framework, modalities, hyper-parameters, origin."""
    from models.registry import list_models

    return [{"name": m.name, "framework": m.framework, "modalities": list(m.modalities),
             "description": m.description, "hparams": {k: _jsonable(v) for k, v in m.defaults.items()},
             "profile_hparams": {p: {k: _jsonable(v) for k, v in hp.items()}
                                 for p, hp in m.profile_hparams.items()},
             "origin": m.origin} for m in list_models()]


def dataset_rows(options: LoadOptions) -> list[dict[str, Any]]:
    """One dict per registered dataset: name, modality, classes, size, source, offline, origin."""
    from datasets.registry import list_datasets

    rows = []
    for d in list_datasets():
        avail = d.available(options)
        rows.append({"name": d.name, "modality": d.modality, "classes": d.num_classes, "size": d.size,
                     "disk_bytes": disk_bytes(d, options), "memory_bytes": memory_bytes(d.size, d.modality),
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
    rows = [[d["name"], d["modality"], d["classes"], d["size"], human_bytes(d["disk_bytes"]),
             human_bytes(d["memory_bytes"]), d["source"], "yes" if d["offline"] else "no", d["origin"]]
            for d in datasets]
    print(tabulate(rows, headers=["name", "modality", "classes", "size", "on disk", "in memory", "source",
                                  "offline", "from"]))
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
