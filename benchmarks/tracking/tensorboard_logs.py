"""``--tensorboard DIR``: per-record TensorBoard logs, in the Keras callback's layout.

One sub-folder per record key, holding ``train/`` and ``validation/`` (``epoch_loss``,
``epoch_accuracy`` per epoch, from the record's learning curves) and ``test/`` (the catalogue's
quality metrics of the final model, at the last epoch). Written from the records, so a resumed
run and a scikit-learn model (test metrics only) log the same way.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable

from benchmarks.core.paths import safe_filename
from benchmarks.metrics import catalogue
from benchmarks.records.results import is_ok
from benchmarks.tracking import require

# record curve -> (sub-folder, scalar tag), as keras.callbacks.TensorBoard names them
CURVES = {"loss": ("train", "epoch_loss"), "accuracy": ("train", "epoch_accuracy"),
          "val_loss": ("validation", "epoch_loss"), "val_accuracy": ("validation", "epoch_accuracy")}


def require_tensorboard() -> None:
    """Fail in one line when the tensorboard package (tf.summary's writer) is missing."""
    require("tensorboard", "tensorboard", "--tensorboard")


def record_dir(root: Path, key: str) -> Path:
    """The log folder of one record key (``|`` and path characters made safe)."""
    return root / safe_filename(key.replace("|", "__"), 150)


def _write(folder: Path, scalars: Iterable[tuple[str, float, int]]) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for tag, value, step in scalars:
            tf.summary.scalar(tag, value, step=step)
    writer.flush()
    writer.close()


def write_record(root: Path, record: dict[str, Any]) -> Path:
    """Write one record's logs (replacing earlier logs of the same key); returns its folder."""
    folder = record_dir(root, record["key"])
    if folder.exists():
        shutil.rmtree(folder)
    curves = record.get("curves") or {}
    by_split: dict[str, list[tuple[str, float, int]]] = {}
    for name, values in curves.items():
        if name in CURVES:
            split, tag = CURVES[name]
            by_split.setdefault(split, []).extend((tag, float(v), i) for i, v in enumerate(values))
    last = max((len(v) for v in curves.values()), default=1) - 1
    by_split["test"] = [(m.name, float(record[m.name]), max(last, 0)) for m in catalogue.quality()
                        if isinstance(record.get(m.name), (int, float))]
    for split, scalars in by_split.items():
        _write(folder / split, scalars)
    return folder


def write_tensorboard(records: Iterable[dict[str, Any]], root: Path) -> Path:
    """Logs for every finished record under ``root``; returns ``root``."""
    require_tensorboard()
    root.mkdir(parents=True, exist_ok=True)
    for record in records:
        if is_ok(record):
            write_record(root, record)
    return root
