"""MedMNIST v2 2D datasets (official train/val/test splits), e.g. BreastMNIST.

``breastmnist`` (28x28) and ``breastmnist_64`` ship with the repository; the
other flags and sizes are downloaded from Zenodo on demand (see ``download``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.errors import DataError
from benchmarks.hashing import verify_file
from datasets import download
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.checksums import load_npz
from datasets.download import Remote
from datasets.preprocess import check_labels, images_to_float
from datasets.registry import DatasetSpec, add_dataset

DATA_DIR = Path(__file__).parent / "data" / "medmnist"
KEYS = tuple(f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "labels"))
LICENCE = "CC BY 4.0"
CITATION = (
    "Yang et al., MedMNIST v2, Scientific Data 10:41 (2023); "
    "BreastMNIST: Al-Dhabyani et al., Data in Brief 28:104863 (2020)"
)
ZENODO_URL = "https://zenodo.org/records/10519652/files/{file}?download=1"

# flag -> (class names, channels, split sizes)
FLAGS: dict[str, tuple[list[str], int, tuple[int, int, int]]] = {
    "breastmnist": (["malignant", "normal, benign"], 1, (546, 78, 156)),
    "dermamnist": (
        [
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ],
        3,
        (7007, 1003, 2005),
    ),
    "pathmnist": (
        [
            "adipose",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ],
        3,
        (89996, 10004, 7180),
    ),
}
SIZES = (28, 64, 128, 224)
# Official MedMNIST md5 per (flag, size).
MD5: dict[tuple[str, int], str] = {
    ("breastmnist", 28): "750601b1f35ba3300ea97c75c52ff8f6",
    ("breastmnist", 64): "742edef2a1fd1524b2efff4bd7ba9364",
    ("breastmnist", 128): "363e4b3f8d712e9b5de15470a2aaadf1",
    ("breastmnist", 224): "b56378a6eefa9fed602bb16d192d4c8b",
    ("dermamnist", 28): "0744692d530f8e62ec473284d019b0c7",
    ("dermamnist", 64): "b70a2f5635c6199aeaa28c31d7202e1f",
    ("dermamnist", 128): "2defd784463fa5243564e855ed717de1",
    ("dermamnist", 224): "8974907d8e169bef5f5b96bc506ae45d",
    ("pathmnist", 28): "a8b06965200029087d5bd730944a56c1",
    ("pathmnist", 64): "55aa9c1e0525abe5a6b9d8343a507616",
    ("pathmnist", 128): "ac42d08fb904d92c244187169d1fd1d9",
    ("pathmnist", 224): "2c51a510bcdc9cf8ddb2af93af1eadec",
}
# Files shipped in the repository: name -> sha256.
BUNDLED: dict[str, str] = {
    "breastmnist.npz": "3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1",
    "breastmnist_64.npz": "c18cdad0c6a4669aaedd761b2f278373eac3a5afe111e685165dc623c1a7b9ed",
}


def file_name(flag: str, size: int) -> str:
    return f"{flag}{'' if size == 28 else f'_{size}'}.npz"


def dataset_name(flag: str, size: int) -> str:
    return flag if size == 28 else f"{flag}_{size}"


def arrays_to_dataset(
    arrays: dict[str, np.ndarray], name: str, class_names: list[str], path: Path, provenance: Provenance
) -> Dataset:
    """Turn MedMNIST-layout arrays into a Dataset with checked labels and shapes."""
    splits = {}
    shapes = set()
    for split in ("train", "val", "test"):
        x = images_to_float(arrays[f"{split}_images"])
        y = check_labels(arrays[f"{split}_labels"], len(class_names), f"{path} ({split}_labels)")
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"{path}: {split}_images has {x.shape[0]} images but {split}_labels has "
                f"{y.shape[0]} labels; make them the same length"
            )
        shapes.add(x.shape[1:])
        splits[split] = Split(x, y)
    if len(shapes) > 1:
        raise DataError(
            f"{path}: images of mixed shapes across splits {sorted(shapes)}; resize them to one shape"
        )
    return Dataset(
        name=name,
        modality="image",
        class_names=class_names,
        provenance=provenance,
        **splits,
    )


def _local_path(flag: str, size: int, options: LoadOptions) -> tuple[Path, str] | None:
    """The bundled file (path, sha256) if this (flag, size) ships with the repo."""
    fname = file_name(flag, size)
    if fname in BUNDLED:
        return DATA_DIR / fname, BUNDLED[fname]
    return None


def remote(flag: str, size: int) -> Remote:
    """Where Zenodo publishes ``flag`` at ``size``, with its official md5."""
    fname = file_name(flag, size)
    return Remote(name=dataset_name(flag, size), url=ZENODO_URL.format(file=fname), filename=fname,
                  digest=MD5[(flag, size)], algo="md5", subdir="medmnist")


def load(flag: str, size: int, options: LoadOptions) -> Dataset:
    """Load a MedMNIST flag at a size, verifying its checksum."""
    local = _local_path(flag, size, options)
    if local is not None:
        path, sha = local
        verify_file(path, sha)
    else:
        path = download.fetch_medmnist(flag, size, options)
        sha = download.sha256_of(path)
    class_names, _, _ = FLAGS[flag]
    arrays = load_npz(path, KEYS)
    prov = Provenance(
        source=ZENODO_URL.format(file=file_name(flag, size)),
        licence=LICENCE,
        citation=CITATION,
        files={path.name: sha},
    )
    return arrays_to_dataset(arrays, dataset_name(flag, size), class_names, path, prov)


def _register_bundled() -> None:
    for fname in BUNDLED:
        for flag, (classes, channels, (ntr, nva, nte)) in FLAGS.items():
            for size in SIZES:
                if file_name(flag, size) == fname:
                    add_dataset(
                        DatasetSpec(
                            name=dataset_name(flag, size),
                            modality="image",
                            loader=partial(load, flag, size),
                            num_classes=len(classes),
                            size=f"{ntr}/{nva}/{nte} x {size}x{size}x{channels}",
                            available=lambda _o: True,
                            bundled=True,
                            description=f"MedMNIST v2 {flag} {size}x{size}, official split",
                        )
                    )


def _fetcher(flag: str, size: int, options: LoadOptions) -> list[Path]:
    return [download.fetch_medmnist(flag, size, options)]


def _is_cached(flag: str, size: int, options: LoadOptions) -> bool:
    return download.is_present(remote(flag, size), download.root_of(options))


def _register_remote() -> None:
    """One spec per (flag, size) not shipped with the repository: downloaded on demand."""
    for flag, (classes, channels, (ntr, nva, nte)) in FLAGS.items():
        for size in SIZES:
            if file_name(flag, size) in BUNDLED:
                continue
            name = dataset_name(flag, size)
            add_dataset(
                DatasetSpec(
                    name=name,
                    modality="image",
                    loader=partial(load, flag, size),
                    num_classes=len(classes),
                    size=f"{ntr}/{nva}/{nte} x {size}x{size}x{channels}",
                    available=partial(_is_cached, flag, size),
                    bundled=False,
                    description=f"MedMNIST v2 {flag} {size}x{size}, official split (downloaded from Zenodo)",
                    how_to_get=f"python -m benchmarks download {name}",
                )
            )
            download.register_fetcher(name, partial(_fetcher, flag, size))


_register_bundled()
_register_remote()
