"""The one typed object every dataset loader returns."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Split:
    """Features ``x`` (samples first) and integer labels ``y`` (0..k-1).

    Tabular features are float32 (``scale`` 1). Images keep their stored pixels (uint8,
    uint16, ...), possibly as a lazily read array (``datasets.arraycache.RowReader``);
    ``x / scale`` maps them onto [0, 1], done per batch by ``floats``.
    """

    x: Any  # np.ndarray, or an array-like read by rows (len, shape, dtype, x[index])
    y: np.ndarray
    scale: float = 1.0

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def floats(self, rows: Any = slice(None)) -> np.ndarray:
        """``x[rows]`` as float32 in its model range (pixels / scale)."""
        return to_float(self.x[rows], self.scale)

    @property
    def nbytes(self) -> int:
        """Bytes of ``x`` as stored (in memory or on disk)."""
        return int(self.x.nbytes)


def to_float(x: np.ndarray, scale: float) -> np.ndarray:
    """float32 ``x / scale`` (exactly what the input pipeline computes per batch)."""
    out = np.asarray(x).astype(np.float32, copy=x.dtype != np.float32)
    return out / np.float32(scale) if scale != 1.0 else out


@dataclass
class Provenance:
    """Where the data came from: enough to cite it and to check it."""

    source: str
    licence: str
    citation: str = ""
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "licence": self.licence,
            "citation": self.citation,
            "files": dict(self.files),
        }


@dataclass
class Dataset:
    """A loaded, preprocessed dataset: three splits plus metadata.

    Preprocessing (scaling, imputation, gene selection) has been fitted on
    ``train`` only and applied to ``val`` and ``test``.
    """

    name: str
    modality: str  # "expression" | "tabular" | "image"
    class_names: list[str]
    train: Split
    val: Split
    test: Split
    provenance: Provenance
    fold: int | None = None
    info: dict[str, Any] = field(default_factory=dict)  # preprocessing facts for the record
    memory_budget: int | None = None  # bytes of data a trainer may hold in memory (None: no limit)
    # one name (gene symbol, probe id, column name) per feature of expression/tabular data, kept
    # aligned with the columns of ``x`` through preprocessing; None when the source has none
    feature_names: list[str] | None = None
    feature_descriptions: list[str] | None = None  # e.g. Golub's gene descriptions
    sites: dict[str, np.ndarray] | None = None  # split -> site per sample (LoadOptions.site_column)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.train.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def nbytes(self) -> int:
        """Bytes of the features of all three splits as stored (pixels for images)."""
        return self.train.nbytes + self.val.nbytes + self.test.nbytes

    def summary(self) -> dict[str, Any]:
        """Facts about the data that go into every record."""
        return {
            "name": self.name,
            "modality": self.modality,
            "class_names": list(self.class_names),
            "input_shape": list(self.input_shape),
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "fold": self.fold,
            "feature_bytes": self.nbytes,
            "in_memory": not any(is_lazy(s.x) for s in (self.train, self.val, self.test)),
            **self.provenance.as_dict(),
            **self.info,
        }


@dataclass(frozen=True)
class LoadOptions:
    """How to load a dataset: data as configuration, not threaded flags."""

    seed: int = 0
    data_dir: Path | None = None  # cache for downloaded data (None: default cache)
    cv_folds: int | None = None  # K for stratified K-fold; None: fixed split
    fold: int | None = None  # which fold (0..K-1) when cv_folds is set
    top_k_genes: int | None = None  # keep the k most variable genes (fitted on train)
    impute: str = "median"  # median | mean | zero | error
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    # bring-your-own data (csv:/npz:/folder:)
    label_column: str | None = None
    id_column: str | None = None
    site_column: str | None = None  # csv: a site per sample (federated by-column), not a feature
    sep: str = ","
    transpose: bool = False
    image_size: int | None = None
    complete_cases: bool = False  # multi: drop samples missing some blocks (default: keep, masked)
    cache_memory_gb: float | None = None  # data held in memory up to this (None: DEFAULT_CACHE_FRACTION)

    def memory_budget(self) -> int:
        """Bytes of data that may be held in memory (``--cache-memory-gb``; default a fraction of RAM)."""
        if self.cache_memory_gb is not None:
            return int(self.cache_memory_gb * 2**30)
        return int(DEFAULT_CACHE_FRACTION * physical_memory())


DEFAULT_CACHE_FRACTION = 0.25


def physical_memory() -> int:
    """Physical memory in bytes (8 GiB when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def is_lazy(x: Any) -> bool:
    """True for arrays whose rows stay on disk (row readers, memory maps, lazily decoded images)."""
    return not isinstance(x, np.ndarray) or isinstance(x, np.memmap)
