"""Golub et al. (1999) leukemia ALL vs AML (Affymetrix Hu6800, 7129 probes).

Official split: 38 training samples, 34 independent test samples; a stratified
seeded validation split is carved from the training samples.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.core.errors import DataError
from benchmarks.core.hashing import verify_file
from benchmarks.core.modalities import EXPRESSION
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.preprocess import TabularPreprocessor
from datasets.registry import register_dataset
from datasets.spec import OfficialSplit, PublishedResult

DATA_DIR = Path(__file__).parent / "data" / "golub"
FILES = {
    "data_set_ALL_AML_train.csv": "d82f928c573de78e56b0a6c42393a14d08148927060fac4178b40023ff0b0752",
    "data_set_ALL_AML_independent.csv": "7b3a9868d371ea1b5182f7c0242c920a52ddea5cb232fd387cfc2563f3dadce0",
    "actual.csv": "af291eced4116e257af0b73043e83b55d9b42f0d815440a4c5bc72424d2f44e1",
}
PROVENANCE = Provenance(
    source="Golub et al. 1999, Broad Institute (Kaggle mirror 'gene-expression')",
    licence="public research data (Science 1999 supplementary data)",
    citation="Golub et al., Science 286:531-537 (1999)",
    files=FILES,
)
PUBLISHED = (
    PublishedResult(
        "weighted voting (50 informative genes)",
        "trained on the 38 initial samples, tested on the 34 independent samples",
        "Golub T.R., Slonim D.K., Tamayo P., et al. Molecular classification of cancer: class "
        "discovery and class prediction by gene expression monitoring. Science 286:531-537 (1999).",
        result="strong predictions for 29 of 34 independent samples, all 29 correct; "
               "the remaining 5 uncertain",
        note="not directly comparable: the 29/29 counts strong predictions only, while our "
             "accuracy counts every one of the 34 test samples",
    ),
)
CLASSES = ["ALL", "AML"]
CLIP = (20.0, 16000.0)
VAL_FRACTION = 0.2  # of the 38 official training samples


def read_descriptions(path: Path) -> dict[str, str]:
    """Probe id (Gene Accession Number) -> gene description, as the file gives them."""
    import pandas as pd

    df = pd.read_csv(path, usecols=["Gene Description", "Gene Accession Number"])
    return dict(zip(df["Gene Accession Number"].astype(str), df["Gene Description"].astype(str)))


def read_matrix(path: Path):
    """Probes x patients intensity matrix (drops description and 'call' columns)."""
    import pandas as pd

    df = pd.read_csv(path)
    patient_cols = [c for c in df.columns[2:] if not str(c).startswith("call")]
    m = df.set_index("Gene Accession Number")[patient_cols]
    m.columns = [int(c) for c in m.columns]
    return m


def _log_clip(x: np.ndarray) -> np.ndarray:
    return np.log2(np.clip(x, *CLIP))


@register_dataset("golub", modality=EXPRESSION, classes=CLASSES, size="38(train+val)/34 x 7129 probes",
                  split=OfficialSplit(train=38, test=34), provenance=PROVENANCE, published=PUBLISHED)
def load(options: LoadOptions) -> Dataset:
    """Golub 1999 leukemia ALL vs AML microarray, official 38/34 split."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    shas = {name: verify_file(DATA_DIR / name, sha) for name, sha in FILES.items()}
    train_m = read_matrix(DATA_DIR / "data_set_ALL_AML_train.csv")
    test_m = read_matrix(DATA_DIR / "data_set_ALL_AML_independent.csv")
    labels = pd.read_csv(DATA_DIR / "actual.csv").set_index("patient")["cancer"]
    if list(train_m.index) != list(test_m.index):
        raise DataError(f"{DATA_DIR}: train and independent files list different probes")
    to_y = lambda cols: labels.loc[cols].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()  # noqa: E731
    x_tr, y_tr = _log_clip(train_m.T.to_numpy(float)), to_y(train_m.columns)
    x_te, y_te = _log_clip(test_m.T.to_numpy(float)), to_y(test_m.columns)
    tr_idx, va_idx = train_test_split(
        np.arange(y_tr.size), test_size=VAL_FRACTION, stratify=y_tr,
        random_state=options.seed,
    )
    prep = TabularPreprocessor(impute=options.impute, top_k=options.top_k_genes).fit(x_tr[tr_idx])
    probes = [str(p) for p in train_m.index]
    descriptions = read_descriptions(DATA_DIR / "data_set_ALL_AML_train.csv")
    return Dataset(
        name="golub",
        modality=EXPRESSION,
        class_names=list(CLASSES),
        train=Split(prep.transform(x_tr[tr_idx], "train"), y_tr[tr_idx]),
        val=Split(prep.transform(x_tr[va_idx], "val"), y_tr[va_idx]),
        test=Split(prep.transform(x_te, "test"), y_te),
        provenance=replace(PROVENANCE, files=shas),
        info={**prep.info, "preprocessing": "clip [20, 16000], log2, standardise (train stats)"},
        feature_names=prep.kept(probes),
        feature_descriptions=prep.kept([descriptions.get(p, "") for p in probes]),
    )
