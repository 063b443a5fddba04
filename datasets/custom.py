"""Bring-your-own data: ``csv:PATH``, ``npz:PATH`` and ``folder:PATH`` datasets.

* ``csv:PATH --label-column COL [--id-column COL] [--sep ,] [--transpose]``: expression or
  tabular data, samples as rows (``--transpose``: genes as rows, samples as columns, the
  label as a row). An unnamed first column (a saved pandas index) is taken as sample ids.
* ``npz:PATH``: images in the MedMNIST key layout (``train_images``, ``train_labels``,
  ``val_*``, ``test_*``; optional ``class_names``), grayscale or RGB, official split.
* ``folder:PATH``: one sub-folder of PNG/JPEG images per class, seeded stratified split
  (or ``--cv K``), resized to ``--image-size N`` when given.

Every record names the file and its sha256. Bad content fails with one line naming
the file, the problem and the fix. Nothing is unpickled.
"""

from __future__ import annotations

import csv
import hashlib
import lzma
import tarfile
import warnings
import zipfile
import zlib
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.errors import DataError, OncobenchError, quote, some
from benchmarks.hashing import file_digest
from benchmarks.modalities import EXPRESSION, IMAGE
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.checksums import load_npz, npz_object_arrays, read_error
from datasets.medmnist import KEYS, arrays_to_dataset
from datasets.preprocess import (
    MAX_PIXEL_INT,
    check_labels,
    images_to_float,
    pixel_scale,
    preprocess_splits,
    split_indices,
)
from datasets.registry import DatasetSpec, register_prefix
from datasets.spec import OfficialSplit, SeededSplit

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


def _existing(path_str: str, kind: str) -> Path:
    """The path of a ``kind:PATH`` dataset, checked to exist (and, for files, to be non-empty)."""
    path = Path(path_str).expanduser()
    if not path_str:
        raise OncobenchError(f"--dataset {kind}: needs a path, e.g. {kind}:data/my_{kind}")
    if not path.exists():
        if path.is_symlink():
            try:
                path.resolve(strict=True)
                problem = "is a broken symbolic link"
            except (OSError, RuntimeError):
                problem = "is a symbolic link that points nowhere (broken, or a loop)"
            raise DataError(f"{path}: {problem}; point --dataset {kind}:PATH at the real file")
        raise DataError(f"{path}: file not found; check the path given as --dataset {kind}:PATH")
    if kind == "folder":
        if not path.is_dir():
            raise DataError(f"{path}: not a folder; folder:PATH needs one sub-folder of images per class")
    elif path.is_dir():
        raise DataError(f"{path}: is a folder; {kind}:PATH needs a file (for image folders use folder:PATH)")
    elif path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; point --dataset {kind}:PATH at a file with data")
    return path


def _where(items: Any, n: int = 8) -> str:
    return some(items, n)


def _fold(options: LoadOptions) -> int | None:
    return (options.fold or 0) if options.cv_folds else None


def _class_order(labels: list[str]) -> list[str]:
    """Sorted class names; numerically when every label is a number."""
    names = sorted(set(labels))
    try:
        return sorted(names, key=float)
    except ValueError:
        return names


def _label_text(value: Any) -> str:
    """A label as text: 1.0 -> "1" (numeric labels read as floats), strings stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ---------------------------------------------------------------- csv:PATH
def _sep(options: LoadOptions) -> str:
    return {"\\t": "\t", "tab": "\t"}.get(options.sep, options.sep)


def _csv_call(path: Path, sep: str, fn):
    """Run ``fn()`` (a pandas read of ``path``), turning reader and decoder errors into DataError."""
    import pandas as pd

    try:
        return fn()
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file has no header or data; point csv:PATH at a CSV file") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise DataError(f"{path}: not UTF-8 text (byte 0x{byte:02x} at position {exc.start}); "
                        "save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read as CSV with --sep {sep!r} ({quote(first, 80)[1:-1]}); check "
                        "the separator and that it is a text CSV") from None
    except MemoryError:
        raise DataError(f"{path}: too large to load into memory; subset the file") from None
    except DECODE_ERRORS as exc:
        raise read_error(path, exc) from None


def _read_csv(path: Path, options: LoadOptions):
    """The CSV as a DataFrame (``--transpose``: first column as index); decoder, encoding and
    duplicate-header problems are DataErrors."""
    import pandas as pd

    sep = _sep(options)
    header = _csv_call(path, sep, lambda: pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                                                      keep_default_na=False))
    names = [str(v).strip() for v in header.iloc[0].tolist()] if len(header) else []
    if not options.transpose:
        dups = sorted({n for n in names if names.count(n) > 1 and n})
        if dups:
            raise DataError(f"{path}: duplicate column names {some(quote(d) for d in dups)} in the header; "
                            "rename them so each column is unique")
    return _csv_call(path, sep, lambda: pd.read_csv(path, sep=sep, index_col=0 if options.transpose else None,
                                                    low_memory=False))


def _sep_hint(path: Path, names: list[str], options: LoadOptions) -> str:
    """'; the header looks ';'-separated: pass --sep ';'' when one header cell holds another separator."""
    if len(names) > 2:
        return ""
    text = " ".join(str(n) for n in names)
    try:
        others = "".join(s for s in ",;\t|" if s != _sep(options))
        found = csv.Sniffer().sniff(text, delimiters=others).delimiter
    except csv.Error:
        return ""
    flag = "tab" if found == "\t" else repr(found)
    return f"; the header looks {flag}-separated: pass --sep {flag}"


def _numeric_features(frame, path: Path, transposed: bool):
    """Frame converted to numbers; a non-numeric cell names its feature (column, or gene row)."""
    import pandas as pd

    out = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna()
        if bad.any():
            row = bad.idxmax()
            value = quote(s[row])
            if transposed:
                raise DataError(f"{path}: non-numeric values in gene row {quote(row)} (e.g. {value} for "
                                f"{quote(col)[1:-1]}); fix or drop that row, or name it with --label-column")
            raise DataError(f"{path}: non-numeric feature column {quote(col)} (e.g. {value} at "
                            f"{quote(row)[1:-1]}); drop the column or name it with --id-column / "
                            "--label-column")
        out[col] = conv
    return out


def _sample_names(ids: list[Any] | None, n: int) -> list[str]:
    """"sample ID" per row (the id column), or "line N" of the file where there is no id."""
    import pandas as pd

    if ids is None:
        return [f"line {i + 2}" for i in range(n)]
    return [f"line {i + 2}" if pd.isna(v) or not str(v).strip() else f"sample {quote(str(v).strip())[1:-1]}"
            for i, v in enumerate(ids)]


def _check_ids(path: Path, ids: list[Any], column: str) -> None:
    """Sample ids must be unique."""
    import pandas as pd

    seen: dict[str, int] = {}
    for v in ids:
        if not pd.isna(v):
            key = str(v).strip()
            seen[key] = seen.get(key, 0) + 1
    dups = [k for k, c in seen.items() if c > 1]
    if dups:
        raise DataError(f"{path}: {len(dups)} duplicate sample ids in {quote(column)} (e.g. "
                        f"{some((quote(d) for d in dups), 3)}); make the ids unique or drop --id-column")


def _check_labels_text(path: Path, text: list[str], label: str, axis: str) -> list[str]:
    """Class names from label texts; refuses a single class and labels that look continuous or like ids."""
    class_names = _class_order(text)
    if len(class_names) < 2:
        raise DataError(f"{path}: label {axis} {quote(label)} has a single class {quote(class_names[0])}; "
                        "a classifier needs at least two")
    numeric = True
    try:
        values = [float(t) for t in class_names]
    except ValueError:
        numeric = False
    many = len(class_names) > max(20, len(text) // 2)
    if numeric and many and not all(v.is_integer() for v in values):
        raise DataError(f"{path}: label {axis} {quote(label)} looks continuous ({len(class_names)} distinct "
                        f"numbers in {len(text)} samples, e.g. {some(class_names, 3)}); a classifier needs "
                        "class labels: bin the values or pick another --label-column")
    if many:
        raise DataError(f"{path}: label {axis} {quote(label)} has {len(class_names)} classes for {len(text)} "
                        f"samples (e.g. {some((quote(c) for c in class_names), 3)}); it looks like ids or "
                        "measurements, not classes: pick another --label-column")
    return class_names


def load_csv(path_str: str, options: LoadOptions) -> Dataset:
    """Expression or tabular data from a CSV: numeric features plus a label column of any strings."""
    path = _existing(path_str, "csv")
    df = _read_csv(path, options)
    label = options.label_column
    axis = "row" if options.transpose else "column"
    names = list(df.index if options.transpose else df.columns)
    if not label:
        raise DataError(f"{path}: say which {axis} holds the class labels with --label-column NAME "
                        f"({axis}s: {_where(names)})")
    if options.transpose:
        dups = sorted({str(n) for n in df.index[df.index.duplicated()]})
        if dups:
            raise DataError(f"{path}: duplicate row names {some(quote(d) for d in dups)}; rename them so "
                            "each row is unique")
    if label not in names:
        hint = _sep_hint(path, names, options)
        if not hint and not options.transpose:
            hint = "; for genes as rows and samples as columns add --transpose"
        raise DataError(f"{path}: no label {axis} {quote(label)} ({axis}s: {_where(names)}); "
                        f"pass --label-column with one of them{hint}")
    drop = [label]
    if options.id_column:
        if options.id_column not in names:
            raise DataError(f"{path}: no id {axis} {quote(options.id_column)} ({axis}s: {_where(names)}); "
                            "fix --id-column or drop it")
        drop.append(options.id_column)
    elif not options.transpose and str(names[0]).startswith("Unnamed: 0"):
        drop.append(names[0])  # an unnamed first column: sample ids written by pandas / R
    # sample names for messages: "sample ID", or "line N" of the file
    if options.transpose:
        if options.id_column:
            _check_ids(path, df.loc[options.id_column].tolist(), options.id_column)
        df.columns = [f"sample {quote(str(c))[1:-1]}" for c in df.columns]
        labels = df.loc[label]
        feats = _numeric_features(df.drop(index=drop), path, transposed=True).T
    else:
        ids = df[drop[1]].tolist() if len(drop) > 1 else None
        if options.id_column:
            _check_ids(path, ids, options.id_column)
        df.index = _sample_names(ids, len(df))
        labels = df[label]
        feats = _numeric_features(df.drop(columns=drop), path, transposed=False)
    if feats.shape[0] == 0 or feats.shape[1] == 0:
        raise DataError(f"{path}: no samples or no feature {axis}s besides the label; check --sep and "
                        "--transpose")
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    if missing.any():
        raise DataError(f"{path}: {int(missing.sum())} samples have no label in {quote(label)} (e.g. "
                        f"{_where(labels.index[missing.to_numpy()], 3)}); fill in or remove those samples")
    x = feats.to_numpy(dtype=np.float64)
    inf = np.isinf(x)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(f"{path}: {int(inf.sum())} infinite values (e.g. feature {quote(feats.columns[c])} "
                        f"at {feats.index[r]}); replace them with numbers or empty cells to impute")
    with np.errstate(invalid="ignore"):
        huge = np.abs(x) >= 1e38
    if huge.any():
        r, c = np.argwhere(huge)[0]
        raise DataError(f"{path}: {int(huge.sum())} values too large to compute with (e.g. {x[r, c]:g} for "
                        f"feature {quote(feats.columns[c])} at {feats.index[r]}; limit 1e38); rescale "
                        "them (e.g. log) or fix the cells")
    nan = np.isnan(x)
    if nan.any() and options.impute == "error":
        r, c = np.argwhere(nan)[0]
        raise DataError(f"{path}: {int(nan.sum())} empty or NaN cells (e.g. feature "
                        f"{quote(feats.columns[c])} at {feats.index[r]}); fill them or pass --impute "
                        "median|mean|zero")
    text = [_label_text(v) for v in labels.tolist()]
    stripped = sum(1 for v in labels.tolist() if isinstance(v, str) and v != v.strip())
    class_names = _check_labels_text(path, text, label, axis)
    y = np.array([class_names.index(t) for t in text], dtype=np.int64)
    idx = split_indices(y, options, class_names, str(path))
    splits, info = preprocess_splits(x, y, idx, options, str(path))
    sha = file_digest(path)
    return Dataset(
        name=f"csv:{path_str}",
        modality="expression",
        class_names=class_names,
        provenance=Provenance(source=f"user file {path.resolve()}", licence=LICENCE, files={path.name: sha}),
        fold=_fold(options),
        info={**info, "file": str(path.resolve()), "sha256": sha, "label_column": label,
              "layout": "genes as rows (--transpose)" if options.transpose else "samples as rows",
              "n_samples": int(x.shape[0]), "cv_folds": options.cv_folds,
              "labels": f"leading/trailing whitespace stripped ({stripped} labels changed)",
              "preprocessing": f"impute {options.impute}, drop constant features, optional top-k by "
                               "variance, standardise (train statistics)"},
        **splits,
    )


# ---------------------------------------------------------------- npz:PATH
def _image_size(options: LoadOptions) -> int | None:
    """``--image-size``, checked to lie in IMAGE_SIZE_RANGE (None: keep the images' own size)."""
    size = options.image_size
    lo, hi = IMAGE_SIZE_RANGE
    if size is not None and not lo <= size <= hi:
        raise OncobenchError(f"--image-size {size}: must be {lo}..{hi} pixels; pick e.g. 28, 64 or 224")
    return size


def _resize_array(x: np.ndarray, size: int) -> np.ndarray:
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


def _check_npz_labels(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Per split: labels are integer class indices, one per image; every split is non-empty."""
    for split in ("train", "val", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (1, 3)):
            raise DataError(f"{path}: {split}_images has shape {x.shape}; expected (N,H,W) grayscale or "
                            "(N,H,W,1|3) channels-last")
        pixel_scale(x, f"{path} ({split}_images)")
        if x.shape[0] == 0:
            raise DataError(f"{path}: {split}_images is empty; every split (train, val, test) needs images")
        if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
            raise DataError(f"{path}: {split}_labels must be integer class indices (dtype {y.dtype}); "
                            "store labels as 0..k-1")
        if y.size and y.max() >= MAX_CLASSES:
            raise DataError(f"{path}: {split}_labels holds label {int(y.max())}, implying {int(y.max()) + 1} "
                            f"classes (limit {MAX_CLASSES}); store class indices 0..k-1")
        check_labels(y, MAX_CLASSES, f"{path} ({split}_labels)")
        if y.size != x.shape[0]:
            raise DataError(f"{path}: {split}_images has {x.shape[0]} images but {split}_labels has "
                            f"{y.size} labels; make them the same length")


def load_npz_images(path_str: str, options: LoadOptions) -> Dataset:
    """Images in the MedMNIST key layout, with their official train/val/test split."""
    path = _existing(path_str, "npz")
    size = _image_size(options)
    pickled = npz_object_arrays(path)
    if pickled:
        raise DataError(f"{path}: arrays {', '.join(pickled)} hold pickled Python objects, which oncobench "
                        "never loads; save numeric arrays (uint8 images, integer labels)")
    arrays = load_npz(path, KEYS)
    _check_npz_labels(path, arrays)
    if len(np.unique(arrays["train_labels"])) < 2:
        raise DataError(f"{path}: train_labels hold a single class; a classifier needs at least two")
    bits = sorted({pixel_scale(arrays[f"{s}_images"])[1] for s in ("train", "val", "test")})
    if "class_names" in arrays:
        class_names = [str(c) for c in np.asarray(arrays["class_names"]).reshape(-1)]
    else:
        top = max(int(np.max(arrays[f"{s}_labels"], initial=0)) for s in ("train", "val", "test"))
        class_names = [str(i) for i in range(top + 1)]
    if size:
        shapes = {arrays[f"{s}_images"].shape[1:3] for s in ("train", "val", "test")}
        if shapes != {(size, size)}:
            for s in ("train", "val", "test"):
                arrays[f"{s}_images"] = _resize_array(images_to_float(arrays[f"{s}_images"], str(path)), size)
    sha = file_digest(path)
    prov = Provenance(source=f"user file {path.resolve()}", licence=LICENCE, files={path.name: sha})
    ds = arrays_to_dataset(arrays, f"npz:{path_str}", class_names, path, prov)
    ds.info.update({"file": str(path.resolve()), "sha256": sha, "split": "official (from the file)",
                    "source_bit_depth": bits[0] if len(bits) == 1 else bits})
    return ds


# ---------------------------------------------------------------- folder:PATH
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
        arr = _resize_array(arr[None], size)[0]
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


def load_folder(path_str: str, options: LoadOptions) -> Dataset:
    """Images in one sub-folder per class, seeded stratified split (or ``--cv K``)."""
    root = _existing(path_str, "folder")
    size = _image_size(options)
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
    x = np.empty((len(files), *shape, 3 if rgb else 1), dtype=np.float32)
    depths = set()
    for i, (f, _) in enumerate(files):
        x[i], bits = _image_array(f, size, rgb)
        depths.add(bits)
    y = np.array([c for _, c in files], dtype=np.int64)
    idx = split_indices(y, options, classes, str(root))
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
        fold=_fold(options),
        info={"file": str(root.resolve()), "sha256": sha, "n_images": len(files),
              "color": "RGB" if rgb else "L", "image_size": list(x.shape[1:3]), "cv_folds": options.cv_folds,
              "source_bit_depth": bits[0] if len(bits) == 1 else bits,
              "sha256_of": "sorted 'relative path NUL sha256(file)' lines"},
        train=Split(x[idx[0]], y[idx[0]]),
        val=Split(x[idx[1]], y[idx[1]]),
        test=Split(x[idx[2]], y[idx[2]]),
    )


# ---------------------------------------------------------------- registration
def _spec(kind: str, modality: str, loader, path_str: str) -> DatasetSpec:
    path = _existing(path_str, kind)  # fail fast, before any model is built
    return DatasetSpec(
        name=f"{kind}:{path_str}",
        modality=modality,
        loader=partial(loader, path_str),
        classes=0,  # known once loaded
        size=f"user {kind}",
        # npz files carry their own train/val/test split
        split=OfficialSplit() if kind == "npz" else SeededSplit(),
        provenance=Provenance(source=f"user data {path}", licence=LICENCE),
        is_available=lambda _o: path.exists(),
        bundled=False,
        description=f"user data {path}",
        how_to_get=f"check the path {path}",
    )


register_prefix("csv")(partial(_spec, "csv", EXPRESSION, load_csv))
register_prefix("npz")(partial(_spec, "npz", IMAGE, load_npz_images))
register_prefix("folder")(partial(_spec, "folder", IMAGE, load_folder))
