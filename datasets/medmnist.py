"""MedMNIST v2 2D datasets (official train/val/test splits), e.g. BreastMNIST.

``breastmnist`` (28x28) and ``breastmnist_64`` ship with the repository; the
other flags and sizes are downloaded from Zenodo on demand (see ``download``).
Every flag is one row of ``INFO`` (like MedMNIST's own); one loop registers each flag at
each size, bundled and remote alike.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError
from benchmarks.core.hashing import verify_file
from benchmarks.core.modalities import IMAGE
from datasets import download
from datasets.arraycache import CACHE_MIN_BYTES, cache_dir_for, open_rows, stored_members, unpack_npz
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.checksums import load_npz
from datasets.download import Remote
from datasets.preprocess import check_labels, pixel_scale, with_channels
from datasets.registry import get_dataset, register_dataset
from datasets.spec import OfficialSplit, PublishedResult

DATA_DIR = Path(__file__).parent / "data" / "medmnist"
KEYS = tuple(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))
ZENODO_URL = "https://zenodo.org/records/10519652/files/{file}?download=1"
SIZES = (28, 64, 128, 224)
MEDMNIST_V2 = "Yang et al., MedMNIST v2, Scientific Data 10:41 (2023)"
MEDMNIST_V2_TABLE3 = (
    "Yang J., Shi R., Wei D., Liu Z., Zhao L., Ke B., Pfister H., Ni B. "
    "MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image "
    "classification. Scientific Data 10:41 (2023), Table 3 (BreastMNIST, test split)."
)


@dataclass(frozen=True)
class Flag:
    """One MedMNIST flag, as in MedMNIST's own ``INFO``: the same facts at every size."""

    title: str  # e.g. "BreastMNIST"
    classes: tuple[str, ...]
    channels: int
    split: tuple[int, int, int]  # official train / val / test sizes
    md5: dict[int, str]  # size -> official md5 of the Zenodo file
    licence: str
    citation: str
    bundled: dict[int, str] = field(default_factory=dict)  # size -> sha256 of the file shipped here
    published: tuple[PublishedResult, ...] = ()  # figures obtained at 28x28 (or resized to 224)
    published_note: str = ""


_28 = "28x28 input, official test split (156 images)"
_224 = "28x28 images resized to 224x224, official test split (156 images)"
_BREAST_RESULTS = tuple(
    PublishedResult(model, setting, MEDMNIST_V2_TABLE3, accuracy=acc, roc_auc=auc)
    for model, setting, acc, auc in (
        ("ResNet-18 (28)", _28, 0.863, 0.901),
        ("ResNet-18 (224)", _224, 0.833, 0.891),
        ("ResNet-50 (28)", _28, 0.812, 0.857),
        ("auto-sklearn", _28, 0.803, 0.836),
        ("AutoKeras", _28, 0.831, 0.871),
        ("Google AutoML Vision", _28, 0.861, 0.919),
    )
)

INFO: dict[str, Flag] = {
    "breastmnist": Flag(
        title="BreastMNIST",
        classes=("malignant", "normal, benign"),
        channels=1,
        split=(546, 78, 156),
        md5={28: "750601b1f35ba3300ea97c75c52ff8f6", 64: "742edef2a1fd1524b2efff4bd7ba9364",
             128: "363e4b3f8d712e9b5de15470a2aaadf1", 224: "b56378a6eefa9fed602bb16d192d4c8b"},
        licence="CC BY 4.0",
        citation=f"{MEDMNIST_V2}; BreastMNIST: Al-Dhabyani et al., Data in Brief 28:104863 (2020)",
        bundled={28: "3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1",
                 64: "c18cdad0c6a4669aaedd761b2f278373eac3a5afe111e685165dc623c1a7b9ed"},
        published=_BREAST_RESULTS,
        published_note=("MedMNIST v2 binary ACC thresholds the positive-class score at 0.5 (the same as "
                        "our argmax of two class probabilities); AUC is ROC-AUC"),
    ),
    "dermamnist": Flag(
        title="DermaMNIST",
        classes=(
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ),
        channels=3,
        split=(7007, 1003, 2005),
        md5={28: "0744692d530f8e62ec473284d019b0c7", 64: "b70a2f5635c6199aeaa28c31d7202e1f",
             128: "2defd784463fa5243564e855ed717de1", 224: "8974907d8e169bef5f5b96bc506ae45d"},
        licence="CC BY-NC 4.0",
        citation=f"{MEDMNIST_V2}; DermaMNIST (HAM10000): Tschandl et al., Scientific Data 5:180161 (2018)",
    ),
    "pathmnist": Flag(
        title="PathMNIST",
        classes=(
            "adipose",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ),
        channels=3,
        split=(89996, 10004, 7180),
        md5={28: "a8b06965200029087d5bd730944a56c1", 64: "55aa9c1e0525abe5a6b9d8343a507616",
             128: "ac42d08fb904d92c244187169d1fd1d9", 224: "2c51a510bcdc9cf8ddb2af93af1eadec"},
        licence="CC BY 4.0",
        citation=f"{MEDMNIST_V2}; PathMNIST (NCT-CRC-HE-100K): Kather et al., PLOS Medicine "
                 "16:e1002730 (2019)",
    ),
}


def file_name(flag: str, size: int) -> str:
    return f"{flag}{'' if size == 28 else f'_{size}'}.npz"


def dataset_name(flag: str, size: int) -> str:
    return flag if size == 28 else f"{flag}_{size}"


def arrays_to_dataset(
    arrays: dict[str, Any], name: str, class_names: list[str], path: Path, provenance: Provenance
) -> Dataset:
    """Turn MedMNIST-layout arrays into a Dataset with checked labels and shapes.

    Pixels stay as stored (uint8 for MedMNIST; in memory or read by rows from disk); each split
    carries the scale that maps them onto [0, 1] (see ``pixel_scale``).
    """
    splits = {}
    shapes = set()
    for split in ("train", "val", "test"):
        where = f"{path} ({split}_images)"
        x = with_channels(arrays[f"{split}_images"], where)
        scale, _ = pixel_scale(x, where)
        y = check_labels(np.asarray(arrays[f"{split}_labels"]), len(class_names), f"{path} ({split}_labels)")
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"{path}: {split}_images has {x.shape[0]} images but {split}_labels has "
                f"{y.shape[0]} labels; make them the same length"
            )
        shapes.add(x.shape[1:])
        splits[split] = Split(x, y, scale)
    if len(shapes) > 1:
        raise DataError(
            f"{path}: images of mixed shapes across splits {sorted(shapes)}; resize them to one shape"
        )
    return Dataset(
        name=name,
        modality=IMAGE,
        class_names=class_names,
        provenance=provenance,
        **splits,
    )


def read_arrays(path: Path, sha256: str, options: LoadOptions) -> dict[str, Any]:
    """The MedMNIST-layout arrays of ``path``: in memory when the file is small; else images read
    by rows from disk: in place when stored uncompressed, else from a ``.npy`` cache unpacked once
    (see ``datasets.arraycache``)."""
    if path.stat().st_size < CACHE_MIN_BYTES:
        return load_npz(path, KEYS)
    try:
        stored = stored_members(path, KEYS)
    except (zipfile.BadZipFile, OSError, EOFError):
        stored = None  # load_npz / unpack_npz say what is wrong
    if stored:
        labels = load_npz(path, tuple(k for k in KEYS if k.endswith("_labels")), only=True)
        return {**labels, **{k: open_rows(path, stored[k]) for k in KEYS if k.endswith("_images")}}
    folder = cache_dir_for(path, download.root_of(options))
    files = unpack_npz(path, sha256, folder, KEYS)
    return {k: (open_rows(f) if k.endswith("_images") else np.load(f, allow_pickle=False))
            for k, f in files.items()}


def remote(flag: str, size: int) -> Remote:
    """Where Zenodo publishes ``flag`` at ``size``, with its official md5."""
    fname = file_name(flag, size)
    return Remote(name=dataset_name(flag, size), url=ZENODO_URL.format(file=fname), filename=fname,
                  digest=INFO[flag].md5[size], algo="md5", subdir="medmnist")


def load(flag: str, size: int, options: LoadOptions) -> Dataset:
    """Load a MedMNIST flag at a size (bundled, else fetched), verifying its checksum."""
    spec = get_dataset(dataset_name(flag, size))
    if spec.bundled:
        fname = file_name(flag, size)
        path = DATA_DIR / fname
        sha = verify_file(path, spec.provenance.files[fname])
    else:
        path = spec.fetch(options)[0]
        sha = download.sha256_of(path, spec.remotes[0])
    arrays = read_arrays(path, sha, options)
    prov = replace(spec.provenance, files={path.name: sha})
    return arrays_to_dataset(arrays, spec.name, list(INFO[flag].classes), path, prov)


def _published_note(flag: Flag, size: int) -> str:
    """How to read the flag's published figures (obtained at 28x28) for this size."""
    if not flag.published or size == 28:
        return flag.published_note
    alias = (f"this data set is {flag.title} at {size}x{size}; the MedMNIST v2 figures were obtained on "
             "28x28 images (resized to 224x224 for the (224) models); the setting column says which")
    return "; ".join(n for n in (alias, flag.published_note) if n)


def _register(flag: str, info: Flag, size: int) -> None:
    """One spec for ``flag`` at ``size``: shipped here when ``info.bundled`` has the size."""
    fname = file_name(flag, size)
    bundled = size in info.bundled
    ntr, nva, nte = info.split
    register_dataset(
        dataset_name(flag, size),
        modality=IMAGE,
        classes=info.classes,
        size=f"{ntr}/{nva}/{nte} x {size}x{size}x{info.channels}",
        split=OfficialSplit(train=ntr, val=nva, test=nte),
        provenance=Provenance(source=ZENODO_URL.format(file=fname), licence=info.licence,
                              citation=info.citation, files={fname: info.bundled[size]} if bundled else {}),
        remotes=() if bundled else (remote(flag, size),),
        description=f"MedMNIST v2 {flag} {size}x{size}, official split"
                    + ("" if bundled else " (downloaded from Zenodo)"),
        published=info.published,
        published_note=_published_note(info, size),
    )(partial(load, flag, size))


for _flag, _info in INFO.items():
    for _size in SIZES:
        _register(_flag, _info, _size)
