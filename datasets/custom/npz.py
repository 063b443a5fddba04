"""``npz:PATH``: images in the MedMNIST key layout, with their own train/val/test split."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from benchmarks.core.errors import DataError
from benchmarks.core.hashing import file_digest
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.checksums import npz_object_arrays, read_error
from datasets.custom.common import LICENCE, MAX_CLASSES, existing_path, image_size, resize_array
from datasets.medmnist import arrays_to_dataset, read_arrays
from datasets.preprocess import (
    check_labels,
    images_to_float,
    pixel_scale,
)


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


def _class_names(path: Path) -> dict[str, np.ndarray]:
    """``{"class_names": array}`` when the archive holds one (read alone, never unpickled)."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "class_names.npy" not in zf.namelist():
                return {}
            with zf.open("class_names.npy") as fh:
                return {"class_names": np.lib.format.read_array(fh, allow_pickle=False)}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read class_names ({type(exc).__name__}: {exc}); store them as "
                        "a string array") from None


def load_npz_images(path_str: str, options: LoadOptions) -> Dataset:
    """Images in the MedMNIST key layout, with their official train/val/test split."""
    path = existing_path(path_str, "npz")
    size = image_size(options)
    pickled = npz_object_arrays(path)
    if pickled:
        raise DataError(f"{path}: arrays {', '.join(pickled)} hold pickled Python objects, which oncobench "
                        "never loads; save numeric arrays (uint8 images, integer labels)")
    try:
        sha = file_digest(path)
    except OSError as exc:
        raise read_error(path, exc) from None
    arrays = read_arrays(path, sha, options)
    if "class_names" not in arrays:
        arrays.update(_class_names(path))
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
                arrays[f"{s}_images"] = resize_array(images_to_float(arrays[f"{s}_images"], str(path)), size)
    prov = Provenance(source=f"user file {path.resolve()}", licence=LICENCE, files={path.name: sha})
    ds = arrays_to_dataset(arrays, f"npz:{path_str}", class_names, path, prov)
    ds.info.update({"file": str(path.resolve()), "sha256": sha, "split": "official (from the file)",
                    "source_bit_depth": bits[0] if len(bits) == 1 else bits})
    return ds


