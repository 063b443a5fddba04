"""``multi:``: your own multi-omics, one CSV per block joined by sample ID, plus a label file.

``multi:mrna=rna.csv,meth=meth.csv,clinical=clin.csv;labels=target.csv:target``: each block
file has samples as rows, the sample ID in its first column and one feature per other column
(``--sep`` applies). A block named ``clinical...`` (or ``clin...``) may mix numbers and text:
text columns are one-hot encoded with the categories of the training split (unseen or
missing values: all zeros); every other block must be numeric. ``labels=FILE[:COLUMN]``: ID in
the first column, the label in COLUMN (default: the only other column). Samples missing from
some blocks are kept with a missing-block mask (``--complete-cases`` drops them); a seeded
stratified split, or fold i of ``--cv K``. Preprocessing is fitted per block on training rows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError, OncobenchError, some
from benchmarks.core.hashing import file_digest
from benchmarks.core.modalities import MULTIOMICS
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.custom.common import LICENCE, class_order, existing_path, fold_of, label_text
from datasets.custom.table import _csv_call, _sep
from datasets.multiblock import RawBlock, build
from datasets.preprocess import split_indices
from datasets.registry import DatasetSpec, register_prefix
from datasets.spec import SeededSplit

EXAMPLE = "multi:mrna=rna.csv,meth=meth.csv;labels=target.csv:target"


def is_clinical(name: str) -> bool:
    return name.lower().startswith("clin")


def parse(rest: str) -> tuple[dict[str, Path], Path, str | None]:
    """(block name -> file, label file, label column) from the text after ``multi:``."""
    parts = [p.strip() for p in rest.split(";") if p.strip()]
    if not parts:
        raise OncobenchError(f"--dataset multi: needs block files and labels, e.g. {EXAMPLE}")
    blocks: dict[str, Path] = {}
    for item in parts[0].split(","):
        name, eq, path = item.partition("=")
        name = name.strip()
        if not eq or not name or not path.strip():
            raise OncobenchError(f"--dataset multi: block {item!r} is not NAME=FILE; e.g. {EXAMPLE}")
        if name in blocks or name == "labels":
            raise OncobenchError(f"--dataset multi: block name {name!r} used twice (or reserved); "
                                 "give each block its own name")
        blocks[name] = existing_path(path.strip(), "multi")
    options = dict(p.partition("=")[::2] for p in parts[1:])
    unknown = sorted(set(options) - {"labels"})
    if unknown or "labels" not in options:
        raise OncobenchError(f"--dataset multi: expected ';labels=FILE[:COLUMN]' after the blocks"
                             f"{f' (unknown {unknown[0]!r})' if unknown else ''}; e.g. {EXAMPLE}")
    label = options["labels"].strip()
    path, colon, column = label.rpartition(":")
    if not colon or Path(label).expanduser().exists() or "/" in column:
        path, column = label, ""
    return blocks, existing_path(path, "multi"), column or None


def _read(path: Path, options: LoadOptions):
    """A block or label CSV indexed by its first column (sample ID); duplicate IDs refused."""
    import pandas as pd

    sep = _sep(options)
    df = _csv_call(path, sep, lambda: pd.read_csv(path, sep=sep, index_col=0, low_memory=False))
    df.index = [label_text(i) for i in df.index]
    dups = df.index[df.index.duplicated()].unique().tolist()
    if dups:
        raise DataError(f"{path}: duplicate sample IDs {some(dups)} in the first column; "
                        "keep one row per sample")
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError(f"{path}: no feature columns or no rows (separator {sep!r}); "
                        "check --sep and the file")
    return df


def _numeric(path: Path, df, clinical: bool) -> tuple[Any, list[str]]:
    """(numeric part, text columns); a text column outside a clinical block is an error."""
    text = [c for c in df.columns if df[c].dtype.kind not in "biuf"]
    if text and not clinical:
        col = text[0]
        import pandas as pd

        bad = df[col][pd.to_numeric(df[col], errors="coerce").isna() & df[col].notna()]
        example = f" (e.g. {bad.iloc[0]!r} for sample {bad.index[0]!r})" if len(bad) else ""
        raise DataError(f"{path}: column {str(col)!r} is not numeric{example}; fix the values, or put text "
                        "columns in a block named clinical (one-hot encoded)")
    return df.drop(columns=text), text


def _encode_clinical(df, text: list[str], train_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric columns as they are; text columns one-hot with the training split's categories."""
    num = df.drop(columns=text)
    cols, names = [num.to_numpy(np.float64)], [str(c) for c in num.columns]
    for c in text:
        seen = df.loc[df.index.isin(train_ids), c].dropna().astype(str)
        cats = sorted(seen.unique())
        values = df[c].astype(str).where(df[c].notna(), None).to_numpy()
        cols.append(np.stack([(values == v).astype(np.float64) for v in cats], axis=1)
                    if cats else np.zeros((len(df), 0)))
        names += [f"{c}={v}" for v in cats]
    return np.concatenate(cols, axis=1), names


def load_multi(rest: str, options: LoadOptions) -> Dataset:
    """Read, join, check, split and preprocess a ``multi:`` dataset (see the module docstring)."""
    files, label_file, column = parse(rest)
    where = f"multi:{rest}"
    labels = _read(label_file, options)
    if column is None:
        if labels.shape[1] != 1:
            raise DataError(f"{label_file}: {labels.shape[1]} columns; name the label one, e.g. "
                            f"labels={label_file}:{labels.columns[0]}")
        column = str(labels.columns[0])
    if column not in labels.columns:
        raise DataError(f"{label_file}: no column {column!r} (columns: {some(map(str, labels.columns))}); "
                        "fix labels=FILE:COLUMN")
    frames = {b: _read(p, options) for b, p in files.items()}
    known = set(labels.index)
    for b, df in frames.items():
        if not known & set(df.index):
            raise DataError(f"{files[b]}: none of its {len(df)} sample IDs (e.g. {df.index[0]!r}) match "
                            f"the IDs "
                            f"of {label_file.name} (e.g. {labels.index[0]!r}); put the same sample IDs in "
                            "the first column of every file")
    in_blocks = sorted(set().union(*(set(df.index) for df in frames.values())))
    lab = labels[column]
    unlabelled = [i for i in in_blocks if i not in known or lab.isna()[i]]
    if unlabelled:
        raise DataError(f"{label_file}: no label for {len(unlabelled)} samples of the block files "
                        f"(e.g. {some(unlabelled, 3)}); add their labels or remove them from the block files")
    ids = in_blocks
    present = {b: df.index.get_indexer(ids) >= 0 for b, df in frames.items()}
    partial_rows = ~np.logical_and.reduce(list(present.values()))
    dropped = 0
    if partial_rows.any():
        counts = ", ".join(f"{b} {int((~p).sum())}" for b, p in present.items() if (~p).any())
        if options.complete_cases:
            dropped = int(partial_rows.sum())
            ids = [i for i, keep in zip(ids, ~partial_rows) if keep]
            present = {b: p[~partial_rows] for b, p in present.items()}
            print(f"{where}: dropped {dropped} samples missing some blocks (missing: {counts}; "
                  "--complete-cases)", file=sys.stderr)
        else:
            print(f"{where}: {int(partial_rows.sum())} samples miss some blocks (missing: {counts}); "
                  "kept with "
                  "a missing-block mask (--complete-cases drops them)", file=sys.stderr)
    text_labels = [label_text(v) for v in lab.loc[ids]]
    class_names = class_order(text_labels)
    y = np.array([class_names.index(v) for v in text_labels], dtype=np.int64)
    idx = split_indices(y, options, class_names, where)
    train_ids = [ids[i] for i in idx[0]]
    raw = {}
    for b, df in frames.items():
        num, text = _numeric(files[b], df, is_clinical(b))
        if text:
            x, names = _encode_clinical(df.reindex(ids), text, train_ids)
        else:  # rows by position (a reindex of thousands of columns is slow); absent rows NaN
            pos = df.index.get_indexer(ids)
            x = np.full((len(ids), num.shape[1]), np.nan)
            x[pos >= 0] = num.to_numpy(np.float64)[pos[pos >= 0]]
            names = [str(c) for c in num.columns]
        raw[b] = RawBlock(x, names, "clinical" if is_clinical(b) else "omics", present[b])
    files_sha = {p.name: file_digest(p, "sha256") for p in [*files.values(), label_file]}
    return build(where, raw, y, idx, options, where, sources={b: str(p) for b, p in files.items()},
                 class_names=class_names,
                 provenance=Provenance(source=f"user data {where}", licence=LICENCE, files=files_sha),
                 fold=fold_of(options),
                 info={"cv_folds": options.cv_folds, "complete_cases": options.complete_cases,
                       "dropped_incomplete_samples": dropped, "n_samples": len(ids)})


@register_prefix("multi")
def multi_spec(rest: str) -> DatasetSpec:
    """The spec of ``multi:...`` (files checked now, read when loaded)."""
    from functools import partial

    files, label_file, _ = parse(rest)
    return DatasetSpec(
        name=f"multi:{rest}", modality=MULTIOMICS, loader=partial(load_multi, rest), classes=0,
        size=f"user multi-omics ({len(files)} blocks)", split=SeededSplit(),
        provenance=Provenance(source=f"user data multi:{rest}", licence=LICENCE),
        is_available=lambda _o: all(p.exists() for p in [*files.values(), label_file]), bundled=False,
        description=f"user multi-omics: {', '.join(files)}", how_to_get="check the block and label paths",
    )
