"""Writing a Keras checkpoint without losing the run to a full disk.

``save_weights`` checks the free space first (the weights' size plus a margin), writes to a
temporary ``.weights.h5`` beside the target and renames it into place; a write error (``OSError``
from the file system, or the ``RuntimeError``/``OSError`` h5py raises when HDF5 cannot write) is
one ``WriteError`` line naming the file, and the half-written temporary file is removed. A
``WriteError`` stops the suite (``jobs.run_job`` re-raises it): every later job would fail alike.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

from benchmarks.core.atomic import WriteError, write_error

MARGIN_BYTES = 1 << 20  # HDF5 metadata and layer names on top of the raw weights


def weights_bytes(model: Any) -> int:
    """The raw size of ``model``'s weights in bytes."""
    total = 0
    for w in model.weights:
        n = 1
        for d in w.shape:
            n *= int(d or 1)
        total += n * 4  # float32 (mixed precision keeps float32 variables)
    return total


def check_free_space(folder: Path, need: int) -> None:
    """One line (ENOSPC) when ``folder``'s file system has less than ``need`` bytes free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell; the write itself will say
    if free < need:
        raise write_error(Path(folder), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) from None


def save_weights(model: Any, path: Path) -> Path:
    """``model.save_weights(path)`` through a temporary file, with the free space checked first."""
    path = Path(path)
    check_free_space(path.parent, weights_bytes(model) * 2 + MARGIN_BYTES)
    tmp = path.with_name(f".{os.getpid()}.{path.name}")  # keeps the .weights.h5 suffix Keras wants
    try:
        model.save_weights(str(tmp))
        os.replace(tmp, path)
    except WriteError:
        tmp.unlink(missing_ok=True)
        raise
    except (OSError, RuntimeError) as exc:  # the file system, or h5py/HDF5 failing to write
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno:
            raise write_error(path, exc) from None
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise WriteError(f"cannot write {path}: {line}; free some disk space or write elsewhere") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
