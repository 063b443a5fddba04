"""``--tensorboard DIR`` during training: per-epoch scalars written as each epoch ends.

``run_suite`` sets ``ONCOBENCH_TENSORBOARD`` for the duration of a run (worker processes inherit
it); the Keras adapter asks ``callbacks(ctx, first_epoch)`` for its extra callbacks. The layout
is the Keras ``TensorBoard`` callback's (``train/epoch_loss``, ``validation/epoch_accuracy``, ...)
under ``DIR/<record key>/``; a fine-tuning phase continues the epoch count. When the run ends,
``tensorboard_logs.write_tensorboard`` adds the test metrics, cost, figures and the HParams
session beside these curves.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

from benchmarks.core.paths import safe_filename

ENV = "ONCOBENCH_TENSORBOARD"


@contextlib.contextmanager
def live_tensorboard(root: str | Path | None) -> Iterator[None]:
    """Within the block, Keras training writes live TensorBoard scalars under ``root``."""
    if not root:
        yield
        return
    old = os.environ.get(ENV)
    os.environ[ENV] = str(Path(root).resolve())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old


def record_dir(root: Path, key: str) -> Path:
    """The log folder of one record key (``|`` and path characters made safe)."""
    return root / safe_filename(key.replace("|", "__"), 150)


def callbacks(ctx: Any, first_epoch: int = 0) -> list[Any]:
    """The live-logging Keras callbacks for the run of ``ctx`` (a ``RunContext``): none unless
    ``ONCOBENCH_TENSORBOARD`` is set. ``first_epoch``: epochs already trained (a later phase)."""
    root = os.environ.get(ENV)
    if not root:
        return []
    return [epoch_scalars(record_dir(Path(root), ctx.key), first_epoch)]


def epoch_scalars(folder: Path, first_epoch: int = 0):
    """A Keras callback: at each epoch's end, ``epoch_<metric>`` to ``folder/train`` and
    (``val_<metric>``) ``folder/validation``, step = epoch (from ``first_epoch``), flushed."""
    import keras
    import tensorflow as tf

    if first_epoch == 0 and folder.exists():  # a new training of this record: earlier logs go
        shutil.rmtree(folder)

    class EpochScalars(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.writers: dict[str, Any] = {}

        def _writer(self, split: str):
            if split not in self.writers:
                self.writers[split] = tf.summary.create_file_writer(str(folder / split))
            return self.writers[split]

        def on_epoch_end(self, epoch, logs=None):
            step = first_epoch + int(epoch)
            for name, value in (logs or {}).items():
                split, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
                with self._writer(split).as_default():
                    tf.summary.scalar(f"epoch_{tag}", float(value), step=step)
            for w in self.writers.values():
                w.flush()

        def on_train_end(self, logs=None):
            for w in self.writers.values():
                w.close()
            self.writers.clear()

    return EpochScalars()
