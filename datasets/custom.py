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

import hashlib
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.errors import DataError, OncobenchError
from benchmarks.hashing import file_digest
from benchmarks.modalities import EXPRESSION, IMAGE
from benchmarks.paths import require_path
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.checksums import load_npz, npz_object_arrays
from datasets.medmnist import KEYS, arrays_to_dataset
from datasets.preprocess import images_to_float, preprocess_splits, split_indices
from datasets.registry import DatasetSpec, register_prefix
from datasets.spec import OfficialSplit, SeededSplit

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")
LICENCE = "user-supplied data"


def _existing(path_str: str, kind: str) -> Path:
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


def _where(items: Any, n: int = 8) -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:n]) + (f", ... ({len(items)} in all)" if len(items) > n else "")


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
    """A label as text: 1.0 -> "1" (numeric labels read as floats), strings unchanged."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- csv:PATH
def _read_csv(path: Path, options: LoadOptions):
    import pandas as pd

    sep = {"\\t": "\t", "tab": "\t"}.get(options.sep, options.sep)
    try:
        return pd.read_csv(path, sep=sep, index_col=0 if options.transpose else None, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file has no header or data; point csv:PATH at a CSV file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read as CSV with --sep {sep!r} ({first}); check the separator "
                        "and that it is a text CSV") from None


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
            value = s[row]
            if transposed:
                raise DataError(f"{path}: non-numeric values in gene row {row!r} (e.g. {value!r} for sample "
                                f"{col}); fix or drop that row, or name it with --label-column")
            raise DataError(f"{path}: non-numeric feature column {col!r} (e.g. {value!r} at {row}); drop "
                            "the column or name it with --id-column / --label-column")
        out[col] = conv
    return out


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
    if label not in names:
        hint = "" if options.transpose else "; for genes as rows and samples as columns add --transpose"
        raise DataError(f"{path}: no label {axis} {label!r} ({axis}s: {_where(names)}); "
                        f"pass --label-column with one of them{hint}")
    drop = [label]
    if options.id_column:
        if options.id_column not in names:
            raise DataError(f"{path}: no id {axis} {options.id_column!r} ({axis}s: {_where(names)}); "
                            "fix --id-column or drop it")
        drop.append(options.id_column)
    elif not options.transpose and str(names[0]).startswith("Unnamed: 0"):
        drop.append(names[0])  # an unnamed first column: sample ids written by pandas / R
    # sample names for messages: "sample ID", or "line N" of the file
    if options.transpose:
        df.columns = [f"sample {c}" for c in df.columns]
        labels = df.loc[label]
        feats = _numeric_features(df.drop(index=drop), path, transposed=True).T
    else:
        ids = df[drop[1]].astype(str).tolist() if len(drop) > 1 else None
        df.index = [f"sample {i}" for i in ids] if ids else [f"line {n + 2}" for n in range(len(df))]
        labels = df[label]
        feats = _numeric_features(df.drop(columns=drop), path, transposed=False)
    if feats.shape[0] == 0 or feats.shape[1] == 0:
        raise DataError(f"{path}: no samples or no feature {axis}s besides the label; check --sep and "
                        "--transpose")
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    if missing.any():
        raise DataError(f"{path}: {int(missing.sum())} samples have no label in {label!r} (e.g. "
                        f"{_where(labels.index[missing.to_numpy()], 3)}); fill in or remove those samples")
    x = feats.to_numpy(dtype=np.float64)
    inf = np.isinf(x)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(f"{path}: {int(inf.sum())} infinite values (e.g. feature {feats.columns[c]!r} at "
                        f"{feats.index[r]}); replace them with numbers or empty cells to impute")
    nan = np.isnan(x)
    if nan.any() and options.impute == "error":
        r, c = np.argwhere(nan)[0]
        raise DataError(f"{path}: {int(nan.sum())} empty or NaN cells (e.g. feature {feats.columns[c]!r} at "
                        f"{feats.index[r]}); fill them or pass --impute median|mean|zero")
    text = [_label_text(v) for v in labels.tolist()]
    class_names = _class_order(text)
    if len(class_names) < 2:
        raise DataError(f"{path}: label {axis} {label!r} has a single class {class_names[0]!r}; "
                        "a classifier needs at least two")
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
              "preprocessing": f"impute {options.impute}, drop constant features, optional top-k by "
                               "variance, standardise (train statistics)"},
        **splits,
    )


# ---------------------------------------------------------------- npz:PATH
def _resize_array(x: np.ndarray, size: int) -> np.ndarray:
    """Resize (N,H,W[,C]) uint8/float images to size x size with Pillow (bilinear)."""
    from PIL import Image

    out = []
    for img in x:
        squeeze = img.ndim == 3 and img.shape[-1] == 1
        arr = img[..., 0] if squeeze else img
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max(initial=0) <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        r = np.asarray(Image.fromarray(arr).resize((size, size), Image.Resampling.BILINEAR))
        out.append(r[..., None] if squeeze else r)
    return np.stack(out) if out else x


def load_npz_images(path_str: str, options: LoadOptions) -> Dataset:
    """Images in the MedMNIST key layout, with their official train/val/test split."""
    path = _existing(path_str, "npz")
    pickled = npz_object_arrays(path)
    if pickled:
        raise DataError(f"{path}: arrays {', '.join(pickled)} hold pickled Python objects, which oncobench "
                        "never loads; save numeric arrays (uint8 images, integer labels)")
    arrays = load_npz(path, KEYS)
    for split in ("train", "val", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (1, 3)):
            raise DataError(f"{path}: {split}_images has shape {x.shape}; expected (N,H,W) grayscale or "
                            "(N,H,W,1|3) channels-last")
        if not (np.issubdtype(y.dtype, np.integer) or
                (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))):
            raise DataError(f"{path}: {split}_labels must be integer class indices (dtype {y.dtype}); "
                            "store labels as 0..k-1")
    if "class_names" in arrays:
        class_names = [str(c) for c in np.asarray(arrays["class_names"]).reshape(-1)]
    else:
        top = max(int(np.max(arrays[f"{s}_labels"], initial=0)) for s in ("train", "val", "test"))
        class_names = [str(i) for i in range(top + 1)]
    if options.image_size:
        shapes = {arrays[f"{s}_images"].shape[1:3] for s in ("train", "val", "test")}
        if shapes != {(options.image_size, options.image_size)}:
            for s in ("train", "val", "test"):
                arrays[f"{s}_images"] = _resize_array(arrays[f"{s}_images"], options.image_size)
    sha = file_digest(path)
    prov = Provenance(source=f"user file {path.resolve()}", licence=LICENCE, files={path.name: sha})
    ds = arrays_to_dataset(arrays, f"npz:{path_str}", class_names, path, prov)
    ds.info.update({"file": str(path.resolve()), "sha256": sha, "split": "official (from the file)"})
    return ds


# ---------------------------------------------------------------- folder:PATH
def _folder_files(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir())
             if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if len(classes) < 2 or not files:
        raise DataError(f"{root}: needs one sub-folder per class (at least two) holding PNG/JPEG images; "
                        f"found {len(classes)} sub-folders and {len(files)} images")
    return classes, files


def _open_image(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
        return img
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read image ({type(exc).__name__}: {exc}); replace or remove "
                        "the file") from None


def load_folder(path_str: str, options: LoadOptions) -> Dataset:
    """Images in one sub-folder per class, seeded stratified split (or ``--cv K``)."""
    from PIL import Image

    root = _existing(path_str, "folder")
    classes, files = _folder_files(root)
    images = [_open_image(f) for f, _ in files]
    mode = "L" if all(img.mode in GRAY_MODES for img in images) else "RGB"
    size = options.image_size
    if not size:
        sizes = {img.size for img in images}
        if len(sizes) > 1:
            by = {}
            for (f, _), img in zip(files, images):
                by.setdefault(img.size, f)
            eg = ", ".join(f"{f.relative_to(root)} {w}x{h}" for (w, h), f in list(by.items())[:3])
            raise DataError(f"{root}: images of mixed shapes ({eg}); pass --image-size N to resize them "
                            "all to N x N")
    arrays = []
    for img in images:
        img = img.convert(mode)
        if size and img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(img, dtype=np.uint8))
    x = images_to_float(np.stack(arrays))
    y = np.array([c for _, c in files], dtype=np.int64)
    idx = split_indices(y, options, classes, str(root))
    h = hashlib.sha256()
    for f, _ in files:
        h.update(f"{f.relative_to(root).as_posix()}\0{file_digest(f)}\n".encode())
    sha = h.hexdigest()
    key = f"{root.name}/ ({len(files)} images)"
    return Dataset(
        name=f"folder:{path_str}",
        modality="image",
        class_names=classes,
        provenance=Provenance(source=f"user folder {root.resolve()}", licence=LICENCE, files={key: sha}),
        fold=_fold(options),
        info={"file": str(root.resolve()), "sha256": sha, "n_images": len(files), "color": mode,
              "image_size": list(x.shape[1:3]), "cv_folds": options.cv_folds,
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
