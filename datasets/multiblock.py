"""Multi-block (multi-modal) datasets: several named feature blocks of the same samples.

A ``MultiBlockDataset`` is a ``Dataset`` whose ``x`` is the concatenation of its blocks (so
every single-input model, logreg, random forest, dnn, runs on it unchanged) and which also
knows each block's columns, feature names and modality kind, and, per split, which blocks
each sample has (``BlockSplit.mask``). Preprocessing is fitted per block on the training rows
that have the block; an absent block is all zeros (its training mean once standardised) with
its mask bit off. Fusion models read ``block_inputs``: one array per block plus the mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError
from benchmarks.core.modalities import MULTIOMICS
from datasets.base import Dataset, LoadOptions, Split
from datasets.preprocess import TabularPreprocessor

MASK_INPUT = "block_mask"  # the fusion models' input holding the per-sample block mask
MIN_BLOCK_FEATURES = 2


@dataclass(frozen=True)
class Block:
    """One block: its name, modality kind and columns ``start:stop`` of the concatenation."""

    name: str
    kind: str  # e.g. "expression", "mirna", "protein", "methylation", "clinical", "omics"
    start: int
    stop: int
    feature_names: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass
class BlockSplit(Split):
    """A split of concatenated blocks with its (n, n_blocks) boolean present-block mask."""

    mask: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), bool))


@dataclass
class MultiBlockDataset(Dataset):
    """A ``Dataset`` of concatenated blocks; see the module docstring."""

    blocks: tuple[Block, ...] = ()

    @property
    def block_names(self) -> list[str]:
        return [b.name for b in self.blocks]

    @property
    def block_shapes(self) -> dict[str, tuple[int, ...]]:
        """What fusion builders take as ``input_shape``: block name -> (features,)."""
        return {b.name: (b.size,) for b in self.blocks}

    def present(self, split: str) -> list[str]:
        """Blocks present for at least one sample of ``split``."""
        mask = getattr(self, split).mask
        return [b.name for i, b in enumerate(self.blocks) if mask[:, i].any()]


def is_multiblock(ds: Any) -> bool:
    return isinstance(ds, MultiBlockDataset) and isinstance(ds.test, BlockSplit)


def block_inputs(blocks: tuple[Block, ...], x: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """The fusion models' inputs: block name -> its columns of ``x``, plus the float mask."""
    out = {b.name: np.ascontiguousarray(x[:, b.start:b.stop], dtype=np.float32) for b in blocks}
    out[MASK_INPUT] = np.asarray(mask, dtype=np.float32)
    return out


def block_info(blocks: tuple[Block, ...], masks: dict[str, np.ndarray]) -> dict[str, Any]:
    """Record facts: blocks, their kinds and sizes, and which are present at train and at test."""
    def used(m: np.ndarray) -> list[str]:
        return [b.name for i, b in enumerate(blocks) if m[:, i].any()]

    return {
        "blocks": [b.name for b in blocks],
        "block_kinds": {b.name: b.kind for b in blocks},
        "block_features": {b.name: b.size for b in blocks},
        "blocks_train": used(masks["train"]),
        "blocks_test": used(masks["test"]),
        "samples_missing_blocks": {s: int((~m).any(axis=1).sum()) for s, m in masks.items()},
    }


def blocks_label(record: dict[str, Any]) -> str:
    """``mrna+mirna+protein -> mrna+mirna`` (train -> test blocks); "" for single-modality data."""
    data = record.get("data") or {}
    train, test = data.get("blocks_train"), data.get("blocks_test")
    if not train:
        return ""
    return "+".join(train) if train == test else f"{'+'.join(train)} → {'+'.join(test or [])}"


@dataclass
class RawBlock:
    """One block before preprocessing: float matrix over all samples (rows of absent samples
    ignored), its feature names, kind and the per-sample present flag."""

    x: np.ndarray
    feature_names: list[str]
    kind: str
    present: np.ndarray


def build(
    name: str, raw: dict[str, RawBlock], y: np.ndarray, idx: tuple[np.ndarray, np.ndarray, np.ndarray],
    options: LoadOptions, where: str, *, sources: dict[str, str] | None = None, **dataset_fields: Any,
) -> MultiBlockDataset:
    """Fit each block's preprocessing on its present training rows, apply it to every split,
    concatenate; ``dataset_fields`` are the other ``Dataset`` fields (class names, provenance...).
    Errors name the block's file (``sources``), else ``where``."""
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    blocks: list[Block] = []
    info: dict[str, Any] = {"block_preprocessing": {}}
    start = 0
    for bname, rb in raw.items():
        train_rows = idx[0][rb.present[idx[0]]]
        at = (sources or {}).get(bname, where)
        if train_rows.size == 0:
            raise DataError(f"{at}: block {bname!r} has no training samples; add them or drop the block")
        prep = TabularPreprocessor(impute=options.impute, top_k=options.top_k_genes)
        try:
            prep.fit(rb.x[train_rows])
        except DataError as exc:
            raise DataError(f"{at}: block {bname!r}: {exc}") from None
        kept = prep.kept(rb.feature_names) or []
        if len(kept) < MIN_BLOCK_FEATURES:
            raise DataError(f"{at}: block {bname!r} has {len(kept)} usable feature(s) after preprocessing "
                            f"(constant or empty columns dropped); merge it into another block or drop it")
        for split, rows in zip(parts, idx):
            has = rb.present[rows]
            xb = np.zeros((rows.size, len(kept)), np.float32)
            if has.any():
                xb[has] = prep.transform(rb.x[rows[has]], split)
            parts[split].append(xb)
        blocks.append(Block(bname, rb.kind, start, start + len(kept), tuple(kept)))
        info["block_preprocessing"][bname] = dict(prep.info)
        start += len(kept)
    splits = {}
    masks = {}
    for split, rows in zip(parts, idx):
        masks[split] = np.stack([rb.present[rows] for rb in raw.values()], axis=1)
        splits[split] = BlockSplit(np.concatenate(parts[split], axis=1), y[rows], mask=masks[split])
    info.update(block_info(tuple(blocks), masks))
    info["n_features"] = start
    extra_info = dataset_fields.pop("info", {})
    return MultiBlockDataset(name=name, modality=MULTIOMICS, **splits, blocks=tuple(blocks),
                             feature_names=[f"{b.name}:{f}" for b in blocks for f in b.feature_names],
                             info={**extra_info, **info}, **dataset_fields)


def keep_blocks(ds: MultiBlockDataset, names: list[str], new_name: str) -> MultiBlockDataset:
    """``ds`` with only the blocks ``names`` (in that order): single-block or subset runs."""
    unknown = [n for n in names if n not in ds.block_names]
    if unknown:
        raise DataError(f"dataset {ds.name!r} has no block {unknown[0]!r}; "
                        f"blocks: {', '.join(ds.block_names)}")
    chosen = [ds.blocks[ds.block_names.index(n)] for n in names]
    cols = np.concatenate([np.arange(b.start, b.stop) for b in chosen])
    pos = [ds.block_names.index(n) for n in names]
    blocks, start = [], 0
    for b in chosen:
        blocks.append(replace(b, start=start, stop=start + b.size))
        start += b.size

    def cut(s: BlockSplit) -> BlockSplit:
        return BlockSplit(np.ascontiguousarray(s.x[:, cols]), s.y, mask=s.mask[:, pos])

    splits = {k: cut(getattr(ds, k)) for k in ("train", "val", "test")}
    for k, s in splits.items():
        if not s.mask.any(axis=1).all() and k != "val":
            absent = int((~s.mask.any(axis=1)).sum())
            raise DataError(f"dataset {new_name!r}: {absent} {k} samples have none of the blocks "
                            f"{', '.join(names)}; choose blocks present in the {k} split")
    masks = {k: s.mask for k, s in splits.items()}
    info = {**ds.info, **block_info(tuple(blocks), masks), "n_features": start}
    info["block_preprocessing"] = {n: ds.info.get("block_preprocessing", {}).get(n) for n in names}
    names_out = [f"{b.name}:{f}" for b in blocks for f in b.feature_names]
    return replace(ds, name=new_name, blocks=tuple(blocks), feature_names=names_out, info=info, **splits)


def with_ablation_copies(ds: MultiBlockDataset) -> tuple[MultiBlockDataset, list[str]]:
    """``ds`` whose test split is followed by one copy per test-present block with that block
    removed (features zeroed, mask bit off): one prediction pass scores the modality ablation.
    Returns the dataset and the removed block of each extra copy, in order."""
    test = ds.test
    removed = ds.present("test")
    if len(removed) < 2:
        return ds, []
    xs, ms = [test.x], [test.mask]
    for bname in removed:
        i = ds.block_names.index(bname)
        b = ds.blocks[i]
        x = test.x.copy()
        x[:, b.start:b.stop] = 0.0
        m = test.mask.copy()
        m[:, i] = False
        xs.append(x)
        ms.append(m)
    big = BlockSplit(np.concatenate(xs), np.tile(test.y, len(xs)), mask=np.concatenate(ms))
    return replace(ds, test=big), removed


def ablation_scores(proba: np.ndarray, y: np.ndarray, removed: list[str]) -> dict[str, Any]:
    """Accuracy on the test split as it is and with each block removed in turn (from the
    stacked predictions of ``with_ablation_copies``); drop = full - without."""
    n = len(y)
    acc = lambda p: float(np.mean(np.argmax(p, axis=1) == y))  # noqa: E731
    full = acc(proba[:n])
    out: dict[str, Any] = {"full_accuracy": full, "without": {}}
    for k, bname in enumerate(removed, start=1):
        a = acc(proba[k * n:(k + 1) * n])
        out["without"][bname] = {"accuracy": a, "drop": full - a}
    return out


def block_mass(ds: MultiBlockDataset, attributions: np.ndarray, keep: np.ndarray | None = None, *,
               positive: bool = False) -> dict[str, float]:
    """Share of the attribution mass per block (sums to 1): |attributions| summed over samples
    and each block's features (``positive``: only positive scores, e.g. permutation importance,
    whose unscored features sit below 0). ``keep``: the dataset columns the attributions cover."""
    a = np.asarray(attributions, dtype=np.float64).reshape(len(attributions), -1)
    a = np.clip(a, 0.0, None) if positive else np.abs(a)
    per_col = np.zeros(ds.train.x.shape[1])
    per_col[keep if keep is not None else np.arange(a.shape[1])] = a.sum(axis=0)
    mass = {b.name: float(per_col[b.start:b.stop].sum()) for b in ds.blocks}
    total = sum(mass.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in mass.items()}
