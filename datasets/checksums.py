"""Safe ``.npz`` loading (never unpickles). Hashing lives in ``benchmarks.hashing``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from benchmarks.errors import DataError
from benchmarks.paths import require_path


def load_npz(path: Path, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` (``allow_pickle=False``) with clear errors."""
    path = Path(path)
    require_path(path, "check the path")
    if not path.is_file():
        raise DataError(f"{path}: not a file; check the path")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; re-download or re-create it")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise DataError(
            f"{path}: truncated or corrupt .npz ({type(exc).__name__}: {exc}); "
            "re-download or re-create the file"
        ) from None
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise DataError(
            f"{path}: missing arrays {', '.join(missing)} (has {', '.join(sorted(arrays))}); "
            "use the MedMNIST key layout train_images/train_labels/val_images/..."
        )
    return arrays


def npz_object_arrays(path: Path) -> list[str]:
    """Names of the arrays in an ``.npz`` stored as pickled Python objects, read from the
    ``.npy`` headers only (nothing is unpickled); [] when the file cannot be read as a zip."""
    out = []
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not name.endswith(".npy"):
                    continue
                with zf.open(name) as fh:
                    version = np.lib.format.read_magic(fh)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    if read(fh)[2].hasobject:
                        out.append(name[:-4])
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return []
    return out
