"""TCGA breast cancer multi-omics (mixOmics ``breast.TCGA``): PAM50 subtype from mRNA, miRNA, protein.

Downloaded from the mixOmics repository at a pinned commit (sha256-checked; GPL-2+, so never
shipped with oncobench). The ``.rda`` is converted once into a small ``.npz`` + JSON cache with
the pure-Python ``rdata`` reader (``pip install 'oncobench[multiomics]'``); later loads need no
reader. Official split: 150 training patients with mRNA, miRNA and protein; 70 test patients
with mRNA and miRNA only (protein absent by design). ``breast_tcga:mrna`` (or ``:mrna+mirna``)
keeps some blocks: single-modality runs beside the fused ones.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.atomic import atomic_open, atomic_write_text
from benchmarks.core.errors import DataError, OncobenchError
from benchmarks.core.modalities import MULTIOMICS
from datasets import download
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.download import Remote
from datasets.multiblock import RawBlock, build, keep_blocks
from datasets.registry import DatasetSpec, get_dataset, register_dataset, register_prefix
from datasets.spec import OfficialSplit, PublishedResult

NAME = "breast_tcga"
COMMIT = "6e148b5912fe8f4da73e8cc0413c0c3e9638589f"
REMOTE = Remote(
    name=NAME,
    url=f"https://raw.githubusercontent.com/mixOmicsTeam/mixOmics/{COMMIT}/data/breast.TCGA.rda",
    filename="breast.TCGA.rda",
    digest="0812db063ceee018470b59249a27289e8231909b9ec858c9b3e8fc9ead67af48",
    subdir=NAME,
)
LICENCE = "GPL (>= 2) (mixOmics R package; downloaded, not shipped)"
CITATION = ("mixOmics breast.TCGA (Rohart et al., PLoS Comput Biol 13:e1005752, 2017; Singh et al., "
            "Bioinformatics 35:3055, 2019); data: The Cancer Genome Atlas Network, Nature 490:61 (2012)")
CLASSES = ("Basal", "Her2", "LumA")
BLOCKS = {"mrna": "expression", "mirna": "mirna", "protein": "protein"}  # name -> modality kind
PUBLISHED = (
    PublishedResult(
        "DIABLO (block sPLS-DA)", "official split, 70 test patients, mRNA + miRNA at test",
        "Singh et al., DIABLO: an integrative approach for identifying key molecular drivers from "
        "multi-omics assays, Bioinformatics 35:3055 (2019); mixOmics N-integration vignette "
        "(5 errors of 70, balanced error rate ~0.068)",
        accuracy=0.929,
    ),
)
CACHE_NPZ, CACHE_META = "blocks.npz", "meta.json"  # meta written last: marks a complete cache


def cache_dir(root: Path) -> Path:
    return Path(root) / NAME / "cache"


def _frame(value: Any, where: str):
    """A block as a pandas DataFrame (rows = patients): rdata gives xarray DataArrays."""
    import pandas as pd

    frame = value.to_pandas() if hasattr(value, "to_pandas") else value
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{where}: expected a patients x features matrix, got {type(value).__name__}; "
                        "the file is not mixOmics' breast.TCGA: delete it and download it again")
    return frame


def parse_rda(path: Path) -> dict[str, Any]:
    """{split: {"ids", "labels", block: (names, float32 matrix)}} from ``breast.TCGA.rda``."""
    try:
        import rdata
    except ImportError:
        raise OncobenchError(f"reading {path.name} needs the rdata package: pip install "
                             "'oncobench[multiomics]' (converted once; later loads need no reader)") from None
    try:
        obj = rdata.conversion.convert(rdata.parser.parse_file(path))["breast.TCGA"]
    except (KeyError, ValueError, TypeError, EOFError, NotImplementedError) as exc:
        raise DataError(f"{path}: not readable as mixOmics breast.TCGA ({type(exc).__name__}: {exc}); "
                        "delete it and download it again") from None
    out: dict[str, Any] = {}
    for split, key in (("train", "data.train"), ("test", "data.test")):
        part = obj[key]
        blocks = {}
        ids = None
        for b in BLOCKS:
            if b in part:
                frame = _frame(part[b], f"{path} {key}${b}")
                ids = [str(i) for i in frame.index] if ids is None else ids
                blocks[b] = ([str(c) for c in frame.columns], frame.to_numpy(np.float32))
        labels = [str(v) for v in part["subtype"]]
        out[split] = {"ids": ids, "labels": labels, "blocks": blocks}
    return out


def convert(rda: Path, cache: Path, sha256: str) -> None:
    """The ``.rda`` once into ``cache`` (``blocks.npz`` + ``meta.json``, written atomically)."""
    parsed = parse_rda(rda)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / CACHE_META).unlink(missing_ok=True)
    arrays = {f"{s}__{b}": m for s, p in parsed.items() for b, (_, m) in p["blocks"].items()}
    with atomic_open(cache / CACHE_NPZ, "wb") as fh:
        np.savez(fh, **arrays)
    meta = {"rda_sha256": sha256, "npz_size": (cache / CACHE_NPZ).stat().st_size,
            "splits": {s: {"ids": p["ids"], "labels": p["labels"],
                           "features": {b: names for b, (names, _) in p["blocks"].items()}}
                       for s, p in parsed.items()}}
    atomic_write_text(cache / CACHE_META, json.dumps(meta))


def read_cache(cache: Path, sha256: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    try:
        meta = json.loads((cache / CACHE_META).read_text(encoding="utf-8"))
        if meta.get("rda_sha256") != sha256 or (cache / CACHE_NPZ).stat().st_size != meta.get("npz_size"):
            return None
        with np.load(cache / CACHE_NPZ, allow_pickle=False) as z:
            return meta, {k: z[k] for k in z.files}
    except (OSError, ValueError, AttributeError, KeyError):
        return None


def _remote() -> Remote:
    """The file as registered (the spec is the one place that names it)."""
    return get_dataset(NAME).remotes[0]


def fetch(options: LoadOptions) -> list[Path]:
    """Download (if needed) and convert (if needed); returns the file and cache paths."""
    root, remote = download.root_of(options), _remote()
    cache = cache_dir(root)
    if read_cache(cache, remote.digest) is None:
        rda = download.fetch(remote, root)
        print(f"{NAME}: converting {rda.name} to a numpy cache (once)...", file=sys.stderr, flush=True)
        convert(rda, cache, remote.digest)
    return [p for p in (remote.path(root), cache / CACHE_NPZ) if p.exists()]


def _available(options: LoadOptions) -> bool:
    root, remote = download.root_of(options), _remote()
    return read_cache(cache_dir(root), remote.digest) is not None or download.is_present(remote, root)


def _val_split(y: np.ndarray, options: LoadOptions) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(y.size)
    train, val = train_test_split(idx, test_size=options.val_fraction, stratify=y, random_state=options.seed)
    return np.sort(train), np.sort(val)


def _load_all(options: LoadOptions) -> Dataset:
    cache, remote = cache_dir(download.root_of(options)), _remote()
    got = read_cache(cache, remote.digest)
    if got is None:
        fetch(options)
        got = read_cache(cache, remote.digest)
        if got is None:
            raise DataError(f"{cache}: the converted cache cannot be read back; delete the folder and retry")
    meta, arrays = got
    tr, te = meta["splits"]["train"], meta["splits"]["test"]
    n_tr, n_te = len(tr["ids"]), len(te["ids"])
    labels = tr["labels"] + te["labels"]
    unknown = sorted(set(labels) - set(CLASSES))
    if unknown:
        raise DataError(f"{cache}: unknown subtypes {unknown}; delete the folder and download again")
    y = np.array([CLASSES.index(c) for c in labels], dtype=np.int64)
    raw = {}
    for b, kind in BLOCKS.items():
        names = tr["features"][b]
        x = np.full((n_tr + n_te, len(names)), np.nan)
        x[:n_tr] = arrays[f"train__{b}"]
        present = np.zeros(n_tr + n_te, bool)
        present[:n_tr] = True
        if f"test__{b}" in arrays:
            if te["features"][b] != names:
                raise DataError(f"{cache}: block {b} has other features at test; delete the folder and retry")
            x[n_tr:] = arrays[f"test__{b}"]
            present[n_tr:] = True
        raw[b] = RawBlock(x, names, kind, present)
    train, val = _val_split(y[:n_tr], options)
    idx = (train, val, np.arange(n_tr, n_tr + n_te))
    return build(NAME, raw, y, idx, options, NAME, class_names=list(CLASSES),
                 provenance=replace(Provenance(remote.url, LICENCE, CITATION),
                                    files={remote.filename: remote.digest}),
                 info={"preprocessing": "as published by mixOmics (normalised, filtered); per block: drop "
                                        "constant features, standardise (training statistics)",
                       "sample_ids_test": te["ids"]})


SPLIT = OfficialSplit(train=150, test=70)


@register_dataset(NAME, modality=MULTIOMICS, classes=CLASSES,
                  size="150/70 x mrna 200 + mirna 184 + protein 142",
                  split=SPLIT, remotes=(REMOTE,), provenance=Provenance(REMOTE.url, LICENCE, CITATION),
                  fetch=fetch, available=_available, published=PUBLISHED,
                  published_note="DIABLO uses mRNA + miRNA at test (protein is absent there); an older "
                                 "mixOmics "
                                 "case study reports 2 errors of 70 (0.971) on the same split")
def load(options: LoadOptions) -> Dataset:
    """TCGA breast PAM50 (mixOmics): mRNA + miRNA + protein (protein absent at test), 150/70."""
    return _load_all(options)


def _load_blocks(names: list[str], options: LoadOptions) -> Dataset:
    return keep_blocks(_load_all(options), names, f"{NAME}:{'+'.join(names)}")


@register_prefix(NAME)
def subset(rest: str) -> DatasetSpec:
    """``breast_tcga:mrna`` / ``breast_tcga:mrna+mirna``: the dataset with only those blocks."""
    names = [n for n in rest.split("+") if n]
    bad = [n for n in names if n not in BLOCKS]
    if not names or bad:
        raise OncobenchError(f"dataset '{NAME}:{rest}': unknown block {bad[0] if bad else rest!r}; "
                             f"valid: {', '.join(BLOCKS)} joined by '+', e.g. {NAME}:mrna+mirna")
    if "protein" in names and len(names) == 1:
        raise OncobenchError(f"dataset '{NAME}:protein': protein is absent from the test split by design; "
                             f"use it with another block, e.g. {NAME}:mrna+protein")
    base = get_dataset(NAME)
    return replace(base, name=f"{NAME}:{'+'.join(names)}", loader=partial(_load_blocks, names),
                   size=f"150/70 x {' + '.join(names)}", description=f"{base.description} Blocks: {rest}.")
