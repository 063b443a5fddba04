"""Shared pieces of the bring-your-own readers: path checks, limits, label text."""

from __future__ import annotations

import lzma
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError, OncobenchError, some
from benchmarks.core.paths import require_path
from datasets.base import LoadOptions

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")
LICENCE = "user-supplied data"
IMAGE_SIZE_RANGE = (1, 1024)  # --image-size bounds
MAX_IMAGE_PIXELS = 120_000_000  # larger images are refused from their header (decompression bombs)
MAX_DECODE_BYTES = 128 << 20  # one image's decoded size (after JPEG draft); bounds peak memory
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2, "LA": 4}  # else 4
MAX_CLASSES = 1000  # npz labels implying more classes are refused (a one-hot of 10^6 classes is TiBs)
# what decoders of compressed/archived files raise on bad input (gzip's BadGzipFile is an OSError)
DECODE_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile, tarfile.TarError,
                 ImportError, NotImplementedError, RuntimeError)


def existing_path(path_str: str, kind: str) -> Path:
    """The path of a ``kind:PATH`` dataset, checked to exist (and, for files, to be non-empty)."""
    path = Path(path_str).expanduser()
    if not path_str:
        raise OncobenchError(f"--dataset {kind}: needs a path, e.g. {kind}:data/my_{kind}")
    require_path(path, f"check the path given as --dataset {kind}:PATH")  # says "symbolic link loop" too
    if kind == "folder":
        if not path.is_dir():
            raise DataError(f"{path}: not a folder; folder:PATH needs one sub-folder of images per class")
    elif path.is_dir():
        raise DataError(f"{path}: is a folder; {kind}:PATH needs a file (for image folders use folder:PATH)")
    elif path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; point --dataset {kind}:PATH at a file with data")
    return path


def some_of(items: Any, n: int = 8) -> str:
    return some(items, n)


def fold_of(options: LoadOptions) -> int | None:
    return (options.fold or 0) if options.cv_folds else None


def class_order(labels: list[str]) -> list[str]:
    """Sorted class names; numerically when every label is a number."""
    names = sorted(set(labels))
    try:
        return sorted(names, key=float)
    except ValueError:
        return names


def label_text(value: Any) -> str:
    """A label as text: 1.0 -> "1" (numeric labels read as floats), strings stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()

def image_size(options: LoadOptions) -> int | None:
    """``--image-size``, checked to lie in IMAGE_SIZE_RANGE (None: keep the images' own size)."""
    size = options.image_size
    lo, hi = IMAGE_SIZE_RANGE
    if size is not None and not lo <= size <= hi:
        raise OncobenchError(f"--image-size {size}: must be {lo}..{hi} pixels; pick e.g. 28, 64 or 224")
    return size


def resize_array(x: np.ndarray, size: int) -> np.ndarray:
    """Resize (N,H,W[,C]) float images in [0, 1] to size x size with Pillow (bilinear, per channel)."""
    from PIL import Image

    out = []
    for img in x:
        arr = img if img.ndim == 3 else img[..., None]
        chans = [np.asarray(Image.fromarray(arr[..., c].astype(np.float32), "F")
                            .resize((size, size), Image.Resampling.BILINEAR)) for c in range(arr.shape[-1])]
        r = np.clip(np.stack(chans, axis=-1), 0.0, 1.0)
        out.append(r if img.ndim == 3 else r[..., 0])
    return np.stack(out).astype(np.float32) if out else x
