"""The one typed object every dataset loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Split:
    """Features ``x`` (float32, samples first) and integer labels ``y`` (0..k-1)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


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
    sites: dict[str, np.ndarray] | None = None  # split -> site per sample (LoadOptions.site_column)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.train.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

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
