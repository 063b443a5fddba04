"""``folder:PATH``: one sub-folder of images per class, decoded one at a time within a memory bound."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError, quote, some
from benchmarks.core.hashing import file_digest
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.checksums import read_error
from datasets.custom.common import (
    BYTES_PER_PIXEL,
    GRAY_MODES,
    IMAGE_SUFFIXES,
    LICENCE,
    MAX_DECODE_BYTES,
    MAX_IMAGE_PIXELS,
    existing_path,
    fold_of,
    image_size,
    resize_array,
)
from datasets.preprocess import (
    MAX_PIXEL_INT,
    pixel_scale,
    split_indices,
)


def _folder_files(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir())
             if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    present = {i for _, i in files}
    if len(classes) < 2 or len(present) < 2:
        empty = [c for i, c in enumerate(classes) if i not in present]
        extra = f" (no images in {some(empty, 3)})" if empty and len(classes) >= 2 else ""
        raise DataError(f"{root}: needs one sub-folder per class (at least two) holding PNG/JPEG/TIFF "
                        f"images; found {len(classes)} sub-folders and {len(files)} images{extra}")
    return classes, files


def _image_error(path: Path, exc: BaseException) -> DataError:
    if isinstance(exc, PermissionError):
        return read_error(path, exc)
    return DataError(f"{path}: cannot read image ({type(exc).__name__}: {quote(str(exc), 80)[1:-1]}); "
                     "replace or remove the file")


def _open_image(path: Path):
    """The image opened lazily (header only); too many pixels (a decompression bomb) is refused."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError:
        raise DataError(f"{path}: image has too many pixels (a decompression bomb?); downscale it to at most "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} Mpixel or remove it") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise _image_error(path, exc) from None
    w, h = img.size
    if w * h > MAX_IMAGE_PIXELS or w == 0 or h == 0:
        img.close()
        raise DataError(f"{path}: image is {w}x{h} ({w * h / 1e6:.0f} Mpixel), outside 1 pixel..."
                        f"{MAX_IMAGE_PIXELS // 1_000_000} Mpixel (a decompression bomb?); downscale it")
    return img


def _check_decode_size(img, path: Path) -> None:
    """Refuse an image whose decoded pixels would exceed MAX_DECODE_BYTES (PNG/TIFF cannot be
    decoded at reduced size, JPEG can: its draft size counts)."""
    w, h = img.size
    need = w * h * BYTES_PER_PIXEL.get(img.mode, 4)
    if need > MAX_DECODE_BYTES:
        kind = f"{img.mode} {img.format or ''}".strip()
        raise DataError(f"{path}: a {w}x{h} {kind} image needs {need >> 20} MiB to decode "
                        f"(limit {MAX_DECODE_BYTES >> 20} MiB); downscale it, or save it as JPEG and pass "
                        "--image-size N (JPEG decodes at reduced size)")


def _image_array(path: Path, size: int | None, rgb: bool) -> tuple[np.ndarray, int]:
    """One image as float32 (H,W,1|3) in [0, 1], scaled by its true bit depth, resized to
    size x size when given (decoded with a size hint: JPEG draft, reduce for the rest);
    returns (array, source bit depth)."""
    from PIL import Image

    img = _open_image(path)
    try:
        with img, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if size and img.format == "JPEG":
                img.draft("RGB" if rgb else "L", (size, size))
            _check_decode_size(img, path)
            img.load()
            if size and min(img.size) >= 2 * size:
                img = img.reduce(max(1, min(img.size) // (2 * size)))
            arr, bits = _mode_array(img, path)
    except DataError:
        raise
    except MemoryError:
        raise DataError(f"{path}: image too large to decode in memory; downscale it") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _image_error(path, exc) from None
    if size and arr.shape[:2] != (size, size):
        arr = resize_array(arr[None], size)[0]
    if rgb and arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr, bits


def _mode_array(img, path: Path) -> tuple[np.ndarray, int]:
    """Pixels of a loaded PIL image as float32 (H,W,C) in [0, 1] plus the source bit depth."""
    mode = img.mode
    if mode in ("1", "L", "P", "LA", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
        gray = mode in ("1", "L", "LA") or (mode in ("P", "PA") and _gray_palette(img))
        img = img.convert("L" if gray else "RGB")
        arr = np.asarray(img, dtype=np.float32) / np.float32(255.0)
        return (arr[..., None] if arr.ndim == 2 else arr), (1 if mode == "1" else 8)
    raw = np.asarray(img)
    if raw.ndim != 2:
        raise DataError(f"{path}: unsupported image mode {mode}; save it as 8-bit or 16-bit PNG")
    if raw.dtype.kind == "f":
        scale, bits = pixel_scale(raw, str(path))
    else:  # I;16*, I (16-bit PNG opens as I): 16 bits unless the values say otherwise
        if raw.min(initial=0) < 0 or raw.max(initial=0) > MAX_PIXEL_INT:
            raise DataError(f"{path}: pixel values {int(raw.min())}..{int(raw.max())} exceed 16 bits; "
                            "save it as an 8-bit or 16-bit image")
        scale, bits = 65535.0, 16
    return (raw.astype(np.float32) / np.float32(scale))[..., None], bits


def _gray_palette(img) -> bool:
    pal = img.getpalette() or []
    return all(pal[i] == pal[i + 1] == pal[i + 2] for i in range(0, len(pal) - 2, 3))


class LazyImages:
    """The images of a folder as an array-like (N,H,W,C) float32 in [0, 1], decoded only when
    rows are read (``x[i]``, ``x[a:b]``, ``x[index_array]``): what the input pipeline gathers."""

    dtype = np.dtype(np.float32)

    def __init__(self, files: list[Path], shape: tuple[int, int, int], size: int | None, rgb: bool) -> None:
        self.files, self.size, self.rgb = list(files), size, rgb
        self.shape = (len(self.files), *shape)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def ndim(self) -> int:
        return 4

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * 4

    def take(self, idx: np.ndarray) -> "LazyImages":
        """The rows ``idx`` as another lazy array (nothing decoded)."""
        return LazyImages([self.files[i] for i in idx], self.shape[1:], self.size, self.rgb)

    def __getitem__(self, key: Any) -> np.ndarray:
        idx = np.arange(len(self))[key]
        if np.ndim(idx) == 0:
            return _image_array(self.files[int(idx)], self.size, self.rgb)[0]
        out = np.empty((len(idx), *self.shape[1:]), np.float32)
        for k, i in enumerate(idx):
            out[k] = _image_array(self.files[int(i)], self.size, self.rgb)[0]
        return out


def _header_bits(mode: str) -> int:
    """Source bit depth from a PIL mode (the lazy path decodes nothing up front)."""
    return 1 if mode == "1" else 16 if mode.startswith("I") else 32 if mode == "F" else 8


def load_folder(path_str: str, options: LoadOptions) -> Dataset:
    """Images in one sub-folder per class, seeded stratified split (or ``--cv K``)."""
    root = existing_path(path_str, "folder")
    size = image_size(options)
    classes, files = _folder_files(root)
    heads = []
    for f, _ in files:
        img = _open_image(f)
        heads.append((img.size, img.mode))
        img.close()
    rgb = not all(mode in GRAY_MODES for _, mode in heads)
    if not size:
        sizes = {s for s, _ in heads}
        if len(sizes) > 1:
            by: dict[tuple[int, int], Path] = {}
            for (f, _), (s, _) in zip(files, heads):
                by.setdefault(s, f)
            eg = ", ".join(f"{f.relative_to(root)} {w}x{h}" for (w, h), f in list(by.items())[:3])
            raise DataError(f"{root}: images of mixed shapes ({eg}); pass --image-size N to resize them "
                            "all to N x N")
    (w, h), _ = heads[0]
    shape = (size, size) if size else (h, w)
    lazy = LazyImages([f for f, _ in files], (*shape, 3 if rgb else 1), size, rgb)
    decoded = lazy.nbytes <= options.memory_budget()
    if decoded:  # fits the memory budget: decode everything once, before training
        x: Any = np.empty(lazy.shape, dtype=np.float32)
        depths = set()
        for i, (f, _) in enumerate(files):
            x[i], bits = _image_array(f, size, rgb)
            depths.add(bits)
    else:  # larger than the budget: decoded batch by batch in the input pipeline
        x = lazy
        depths = {_header_bits(mode) for _, mode in heads}
    y = np.array([c for _, c in files], dtype=np.int64)
    idx = split_indices(y, options, classes, str(root))
    parts = [x[i] if decoded else lazy.take(i) for i in idx]
    h = hashlib.sha256()
    for f, _ in files:
        try:
            h.update(f"{f.relative_to(root).as_posix()}\0{file_digest(f)}\n".encode())
        except OSError as exc:
            raise read_error(f, exc) from None
    sha = h.hexdigest()
    key = f"{root.name}/ ({len(files)} images)"
    bits = sorted(depths)
    return Dataset(
        name=f"folder:{path_str}",
        modality="image",
        class_names=classes,
        provenance=Provenance(source=f"user folder {root.resolve()}", licence=LICENCE, files={key: sha}),
        fold=fold_of(options),
        info={"file": str(root.resolve()), "sha256": sha, "n_images": len(files),
              "color": "RGB" if rgb else "L", "image_size": list(x.shape[1:3]), "cv_folds": options.cv_folds,
              "source_bit_depth": bits[0] if len(bits) == 1 else bits,
              "sha256_of": "sorted 'relative path NUL sha256(file)' lines",
              "decoded": "up front" if decoded else "per batch (larger than --cache-memory-gb)"},
        train=Split(parts[0], y[idx[0]]),
        val=Split(parts[1], y[idx[1]]),
        test=Split(parts[2], y[idx[2]]),
    )


