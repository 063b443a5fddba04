"""Safe ``.npz`` loading (never unpickles). Hashing lives in ``benchmarks.core.hashing``."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from benchmarks.core.errors import DataError, quote
from benchmarks.core.paths import require_path

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"


def read_error(path: Path, exc: BaseException) -> DataError:
    """The one-line DataError for a file that cannot be opened or decoded (``exc`` from the reader)."""
    if isinstance(exc, PermissionError):
        return DataError(f"{path}: permission denied; make the file readable (e.g. chmod u+r {path})")
    if isinstance(exc, IsADirectoryError):
        return DataError(f"{path}: is a folder, not a file; point at the file")
    if isinstance(exc, ImportError):
        return DataError(f"{path}: cannot decompress: {exc.name or 'a library'} is not installed; install it "
                         "or decompress the file first")
    detail = quote(" ".join(str(exc).split()) or type(exc).__name__, 80)[1:-1]
    return DataError(f"{path}: truncated, corrupt or not in the format its name says ({type(exc).__name__}: "
                     f"{detail}); re-create the file or decompress it and check it")


def load_npz(path: Path, keys: tuple[str, ...] = (), only: bool = False) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` (``allow_pickle=False``; with ``only``, just ``keys``)
    with clear errors."""
    path = Path(path)
    require_path(path, "check the path")
    if not path.is_file():
        raise DataError(f"{path}: not a file; check the path")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; re-download or re-create it")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise read_error(path, exc) from None
    if magic == NPY_MAGIC:
        raise DataError(f"{path}: a single .npy array, not an .npz archive of named arrays; save with "
                        "numpy.savez(path, train_images=..., train_labels=..., ...)")
    if not magic.startswith(ZIP_MAGIC):
        raise DataError(f"{path}: not an .npz (zip) archive; save the arrays with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if not only or k in keys}
    except PermissionError as exc:
        raise read_error(path, exc) from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zlib.error,
            NotImplementedError) as exc:
        if "allow_pickle" in str(exc) or "pickled" in str(exc):
            raise DataError(f"{path}: holds pickled Python objects, which oncobench never loads; save "
                            "numeric arrays (uint8 images, integer labels)") from None
        raise DataError(
            f"{path}: truncated or corrupt .npz ({type(exc).__name__}: {quote(str(exc), 80)[1:-1]}); "
            "re-download or re-create the file"
        ) from None
    except MemoryError:
        raise DataError(f"{path}: arrays too large to load into memory; use smaller images") from None
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
