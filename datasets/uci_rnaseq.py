"""UCI "gene expression cancer RNA-Seq" (TCGA PANCAN HiSeq): 801 samples x 20531 genes, 5 tumour types.

Downloaded once from UCI (sha256-checked); ``data.csv`` (~200 MB) is parsed once into a
float32 ``.npy`` cache plus a small JSON of gene names and labels, so later loads take a
fraction of a second. There is no official split: a seeded stratified train/val/test split
by default, or fold ``fold`` of stratified ``--cv K``. Zero-variance genes are dropped and
``--top-k-genes`` keeps the most variable ones, both fitted on the training split only.
"""

from __future__ import annotations

import io
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.core.atomic import atomic_open, atomic_write_text
from benchmarks.core.errors import DataError
from benchmarks.core.modalities import EXPRESSION
from datasets import download
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.download import Remote
from datasets.preprocess import preprocess_splits, split_indices
from datasets.registry import get_dataset, register_dataset
from datasets.spec import PublishedResult, SeededSplit

NAME = "uci_rnaseq"
REMOTE = Remote(
    name=NAME,
    url="https://archive.ics.uci.edu/ml/machine-learning-databases/00401/TCGA-PANCAN-HiSeq-801x20531.tar.gz",
    filename="TCGA-PANCAN-HiSeq-801x20531.tar.gz",
    digest="e6ea3628f9656efa2d7cf382bf5a403e2cc214df3d90312b1928f5650b43a559",
    algo="sha256",
    subdir=NAME,
)
LICENCE = "CC BY 3.0 (UCI Machine Learning Repository)"
CITATION = ("gene expression cancer RNA-Seq, UCI Machine Learning Repository, id 401 (2016); data: "
            "TCGA Pan-Cancer (Weinstein et al., Nat Genet 45:1113, 2013)")
CLASSES = ("BRCA", "COAD", "KIRC", "LUAD", "PRAD")
PUBLISHED = (
    PublishedResult(
        "SVM / ensemble classifiers", "5-fold cross-validation",
        "Accuracies reported for the UCI 'gene expression cancer RNA-Seq' data set (UCI Machine Learning "
        "Repository id 401; TCGA PANCAN subset, 801 samples x 20,531 genes, 5 tumour types) with SVM "
        "and ensemble classifiers "
        "under 5-fold cross-validation; a range over published studies, not a single primary source.",
        accuracy=0.996, accuracy_high=0.999,
    ),
)
CACHE_X = "expression.npy"
CACHE_META = "meta.json"  # written last: its presence marks a complete cache


def cache_dir(root: Path) -> Path:
    return Path(root) / NAME / "cache"


def _member(names: list[str], base: str, archive: Path) -> str:
    hits = [n for n in names if n == base or n.endswith("/" + base)]
    if len(hits) != 1:
        raise DataError(f"{archive}: expected one {base} in the archive, found {len(hits)}; "
                        "the archive is not the published one: delete it and download it again")
    return hits[0]


def parse_archive(archive: Path) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """(float32 samples x genes, gene names, sample ids, labels) from the UCI archive."""
    import pandas as pd

    with download.open_archive(archive) as tar:
        names = tar.getnames()
        data_name, labels_name = _member(names, "data.csv", archive), _member(names, "labels.csv", archive)
        labels = pd.read_csv(io.BytesIO(tar.extractfile(labels_name).read()), index_col=0, dtype=str)
        if "Class" not in labels.columns:
            cols = ", ".join(map(str, labels.columns))
            raise DataError(f"{archive}: {labels_name} has no 'Class' column (columns: {cols}); "
                            "delete the archive and download it again")
        fh = tar.extractfile(data_name)
        header = fh.readline().decode("utf-8").rstrip("\r\n").split(",")
        genes = header[1:]
        try:
            df = pd.read_csv(fh, header=None, names=["sample", *genes], index_col=0, engine="c",
                             dtype={g: np.float32 for g in genes})
        except ValueError as exc:
            raise DataError(f"{archive}: {data_name} has non-numeric expression values ({exc}); "
                            "delete the archive and download it again") from None
    samples = [str(s) for s in df.index]
    missing = [s for s in samples if s not in labels.index]
    if missing or len(samples) != len(labels):
        raise DataError(f"{archive}: {data_name} and {labels_name} list different samples "
                        f"({len(samples)} vs {len(labels)}; e.g. {missing[:3]}); the archive is damaged")
    y = labels.loc[samples, "Class"].astype(str).tolist()
    return np.ascontiguousarray(df.to_numpy(np.float32)), genes, samples, y


def _save_npy(path: Path, x: np.ndarray) -> None:
    with atomic_open(path, "wb") as fh:
        np.save(fh, x, allow_pickle=False)


def convert(archive: Path, cache: Path, archive_sha256: str) -> float:
    """Parse the archive once into ``cache`` (npy + meta.json, atomic); returns parse seconds."""
    t0 = time.perf_counter()
    x, genes, samples, labels = parse_archive(archive)
    parse_s = time.perf_counter() - t0
    cache.mkdir(parents=True, exist_ok=True)
    (cache / CACHE_META).unlink(missing_ok=True)
    _save_npy(cache / CACHE_X, x)
    meta = {"archive": archive.name, "archive_sha256": archive_sha256, "shape": list(x.shape),
            "npy_size": (cache / CACHE_X).stat().st_size, "parse_seconds": round(parse_s, 2),
            "genes": genes, "samples": samples, "labels": labels}
    atomic_write_text(cache / CACHE_META, json.dumps(meta))
    return parse_s


def _cache_meta(cache: Path, archive_sha256: str) -> dict | None:
    """The cache's metadata when it is complete and built from this archive (cheap)."""
    try:
        meta = json.loads((cache / CACHE_META).read_text(encoding="utf-8"))
        ok = (meta.get("archive_sha256") == archive_sha256
              and (cache / CACHE_X).stat().st_size == meta.get("npy_size"))
    except (OSError, ValueError, AttributeError):
        return None
    return meta if ok else None


def read_cache(cache: Path, archive_sha256: str) -> tuple[np.ndarray, list[str], list[str], dict] | None:
    """(x, labels, genes, meta) from a valid cache, else None."""
    meta = _cache_meta(cache, archive_sha256)
    if meta is None:
        return None
    try:
        x = np.load(cache / CACHE_X, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if list(x.shape) != meta["shape"] or x.dtype != np.float32 or len(meta["labels"]) != x.shape[0]:
        return None
    return x, meta["labels"], meta["genes"], meta


def _remote() -> Remote:
    """The archive as registered (the spec is the one place that names it)."""
    return get_dataset(NAME).remotes[0]


def fetch(options: LoadOptions) -> list[Path]:
    """Download (if needed) and convert (if needed); returns the archive and cache paths."""
    remote = _remote()
    root = download.root_of(options)
    cache = cache_dir(root)
    archive = remote.path(root)
    if _cache_meta(cache, remote.digest) is not None:
        return [p for p in (archive, cache / CACHE_X) if p.exists()]
    archive = download.fetch(remote, root)
    print(f"{NAME}: converting {archive.name} to a float32 cache (once)...", file=sys.stderr, flush=True)
    parse_s = convert(archive, cache, remote.digest)
    print(f"{NAME}: parsed in {parse_s:.1f} s -> {cache / CACHE_X}", file=sys.stderr, flush=True)
    return [archive, cache / CACHE_X]


def _available(options: LoadOptions) -> bool:
    root, remote = download.root_of(options), _remote()
    return _cache_meta(cache_dir(root), remote.digest) is not None or download.is_present(remote, root)


@register_dataset(NAME, modality=EXPRESSION, classes=CLASSES, size="801 x 20531 genes (split or --cv K)",
                  split=SeededSplit(), remotes=(REMOTE,),
                  provenance=Provenance(source=REMOTE.url, licence=LICENCE, citation=CITATION),
                  fetch=fetch, available=_available, published=PUBLISHED)
def load(options: LoadOptions) -> Dataset:
    """UCI RNA-Seq PANCAN (TCGA): BRCA/COAD/KIRC/LUAD/PRAD, 801 x 20531 genes, stratified split or CV."""
    spec = get_dataset(NAME)
    digest = spec.remotes[0].digest
    cache = cache_dir(download.root_of(options))
    got = read_cache(cache, digest)
    if got is None:
        spec.fetch(options)
        got = read_cache(cache, digest)
        if got is None:
            raise DataError(f"{cache}: the converted cache cannot be read back; delete the folder and retry")
    x, labels, genes, meta = got
    class_names = sorted(set(labels))
    y = np.array([class_names.index(c) for c in labels], dtype=np.int64)
    where = f"{NAME} ({meta['archive']})"
    idx = split_indices(y, options, class_names, where)
    splits, info = preprocess_splits(x, y, idx, options, where, feature_names=list(genes))
    return Dataset(
        name=NAME,
        modality=EXPRESSION,
        class_names=class_names,
        provenance=replace(spec.provenance, files={meta["archive"]: meta["archive_sha256"]}),
        fold=(options.fold or 0) if options.cv_folds else None,
        info={**info, "cv_folds": options.cv_folds,
              "preprocessing": "log2 RNA-Seq as published; drop constant genes, optional top-k by "
                               "variance, standardise (train statistics)"},
        **splits,
    )

