"""``--tensorboard DIR``: per-record TensorBoard logs, in the Keras callback's layout.

One sub-folder per record key (a run of the HParams dashboard), holding
- ``train/`` and ``validation/``: ``epoch_loss``, ``epoch_accuracy``, ... per epoch, written live
  during Keras training (``benchmarks.adapters.live``), else from the record's learning curves
  (a resumed record);
- ``test/``: the catalogue's quality metrics of the final model (at the last epoch) and two
  images, ``confusion_matrix`` and ``roc``;
- ``cost/``: the catalogue's cost metrics (train time, throughput, latency, parameters, ...);
- the HParams session (``tensorboard.plugins.hparams.api``): model, dataset, seed, fold, profile
  and every hyper-parameter (``hp.NAME``), with the test and cost metrics as its metrics.
``DIR`` itself holds the HParams experiment (every hyper-parameter and metric of the run), so
the dashboard's table and parallel-coordinates views list the records side by side.
Written from the records, so a resumed run and a scikit-learn model log the same way.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable

from benchmarks.adapters.live import record_dir  # noqa: F401 - the layout of live and final logs
from benchmarks.metrics import catalogue
from benchmarks.records.results import is_ok
from benchmarks.tracking import require

# record curve -> (sub-folder, scalar tag), as keras.callbacks.TensorBoard names them
CURVES = {"loss": ("train", "epoch_loss"), "accuracy": ("train", "epoch_accuracy"),
          "val_loss": ("validation", "epoch_loss"), "val_accuracy": ("validation", "epoch_accuracy")}
IDENTITY = ("model", "dataset", "seed", "fold", "profile", "framework")
FINAL = ("test", "cost")  # sub-folders rewritten after every run


def require_tensorboard() -> None:
    """Fail in one line when the tensorboard package (tf.summary's writer) is missing."""
    require("tensorboard", "tensorboard", "--tensorboard")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _hp_value(value: Any) -> bool | int | float | str:
    """An HParams value: bool, number or string (lists and None as text)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def hparams_of(record: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """The record's identity and hyper-parameters as HParams values."""
    out = {k: _hp_value(record.get(k)) for k in IDENTITY}
    out.update({f"hp.{k}": _hp_value(v) for k, v in (record.get("hparams") or {}).items()})
    return out


def _scalars(folder: Path, scalars: Iterable[tuple[str, float, int]],
             images: dict[str, bytes] | None = None) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        for tag, value, step in scalars:
            tf.summary.scalar(tag, value, step=step)
        for tag, data in (images or {}).items():
            tf.summary.image(tag, tf.expand_dims(tf.image.decode_png(data, channels=4), 0), step=0)
    writer.flush()
    writer.close()


def _clear_final(folder: Path) -> None:
    """Remove what an earlier write of this record left (test, cost, the HParams session)."""
    for name in FINAL:
        shutil.rmtree(folder / name, ignore_errors=True)
    for f in folder.glob("events.out.tfevents.*"):
        f.unlink()


def write_record(root: Path, record: dict[str, Any]) -> Path:
    """Write one record's logs (keeping the live curves of its training); returns its folder."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    from benchmarks.tracking.figures import figures, png

    folder = record_dir(root, record["key"])
    folder.mkdir(parents=True, exist_ok=True)
    _clear_final(folder)
    curves = record.get("curves") or {}
    if not (folder / "train").exists():  # no live logs: the record's curves
        by_split: dict[str, list[tuple[str, float, int]]] = {}
        for name, values in curves.items():
            if name in CURVES:
                split, tag = CURVES[name]
                by_split.setdefault(split, []).extend((tag, float(v), i) for i, v in enumerate(values))
        for split, scalars in by_split.items():
            _scalars(folder / split, scalars)
    last = max(max((len(v) for v in curves.values()), default=1) - 1, 0)
    images = {name: png(fig) for name, fig in figures(record).items()}
    _scalars(folder / "test", [(m.name, float(record[m.name]), last) for m in catalogue.quality()
                               if _number(record.get(m.name))], images)
    _scalars(folder / "cost", [(m.name, float(record[m.name]), last) for m in catalogue.cost()
                               if _number(record.get(m.name))])
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        hp.hparams(hparams_of(record), trial_id=str(record["key"]))
    writer.close()
    return folder


def write_experiment(root: Path, records: list[dict[str, Any]]) -> None:
    """The HParams experiment at ``root``: every hyper-parameter and metric of ``records``."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    names: list[str] = []
    for r in records:
        names += [n for n in hparams_of(r) if n not in names]
    metrics = [hp.Metric(m.name, group=group, display_name=f"{group}/{m.name}")
               for group, ms in (("test", catalogue.quality()), ("cost", catalogue.cost()))
               for m in ms if any(_number(r.get(m.name)) for r in records)]
    for f in root.glob("events.out.tfevents.*"):
        f.unlink()
    writer = tf.summary.create_file_writer(str(root))
    with writer.as_default():
        hp.hparams_config(hparams=[hp.HParam(n) for n in names], metrics=metrics)
    writer.close()


def write_tensorboard(records: Iterable[dict[str, Any]], root: Path) -> Path:
    """Logs for every finished record under ``root``; returns ``root``."""
    require_tensorboard()
    root.mkdir(parents=True, exist_ok=True)
    done = [r for r in records if is_ok(r)]
    for record in done:
        write_record(root, record)
    if done:
        write_experiment(root, done)
    return root
