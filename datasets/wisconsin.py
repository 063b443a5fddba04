"""Breast Cancer Wisconsin (Diagnostic), as bundled with scikit-learn (569 x 30)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from benchmarks.core.errors import ChecksumError
from benchmarks.core.modalities import TABULAR
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.preprocess import preprocess_splits, split_indices
from datasets.registry import register_dataset
from datasets.spec import SeededSplit

# sha256 of the float64 feature matrix followed by the int64 targets (C order).
ARRAY_SHA256 = "25e2eb7b7a8745b1bde5ba18bc4969983d2e2f403291ecd5bde4a29ef30c3859"
PROVENANCE = Provenance(
    source="UCI Breast Cancer Wisconsin (Diagnostic), via sklearn.datasets.load_breast_cancer",
    licence="CC BY 4.0 (UCI)",
    citation="Street, Wolberg & Mangasarian (1993); UCI ML Repository id 17",
    files={"breast_cancer (arrays)": ARRAY_SHA256},
)


def _array_sha(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


@register_dataset("wisconsin", modality=TABULAR, classes=("malignant", "benign"),
                  size="569 x 30 (split or --cv K)", split=SeededSplit(), provenance=PROVENANCE)
def load(options: LoadOptions) -> Dataset:
    """Breast Cancer Wisconsin (Diagnostic): malignant vs benign, 30 nuclear features."""
    from sklearn.datasets import load_breast_cancer

    raw = load_breast_cancer()
    x, y = raw.data, raw.target.astype(np.int64)  # sklearn: 0 = malignant, 1 = benign
    sha = _array_sha(x, y)
    if sha != ARRAY_SHA256:
        raise ChecksumError(
            f"scikit-learn's breast_cancer data: sha256 mismatch (got {sha[:12]}...); "
            "reinstall scikit-learn (pip install --force-reinstall scikit-learn)"
        )
    classes = [str(c) for c in raw.target_names]
    idx = split_indices(y, options, classes, "wisconsin")
    splits, info = preprocess_splits(x, y, idx, options, "wisconsin",
                                     feature_names=[str(n) for n in raw.feature_names])
    return Dataset(
        name="wisconsin",
        modality=TABULAR,
        class_names=classes,
        fold=(options.fold or 0) if options.cv_folds else None,
        **splits,
        provenance=replace(PROVENANCE, files={"breast_cancer (arrays)": sha}),
        info={**info, "cv_folds": options.cv_folds, "preprocessing": "standardise (train stats)"},
    )
