"""``csv:PATH``: expression or tabular data from a CSV (samples as rows, or ``--transpose``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError, quote, some
from benchmarks.core.hashing import file_digest
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.checksums import read_error
from datasets.custom.common import (
    DECODE_ERRORS,
    LICENCE,
    class_order,
    existing_path,
    fold_of,
    label_text,
    some_of,
)
from datasets.preprocess import (
    preprocess_splits,
    split_indices,
)


def _sep(options: LoadOptions) -> str:
    return {"\\t": "\t", "tab": "\t"}.get(options.sep, options.sep)


def _csv_call(path: Path, sep: str, fn):
    """Run ``fn()`` (a pandas read of ``path``), turning reader and decoder errors into DataError."""
    import pandas as pd

    try:
        return fn()
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file has no header or data; point csv:PATH at a CSV file") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise DataError(f"{path}: not UTF-8 text (byte 0x{byte:02x} at position {exc.start}); "
                        "save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot read as CSV with --sep {sep!r} ({quote(first, 80)[1:-1]}); check "
                        "the separator and that it is a text CSV") from None
    except MemoryError:
        raise DataError(f"{path}: too large to load into memory; subset the file") from None
    except DECODE_ERRORS as exc:
        raise read_error(path, exc) from None


def _read_csv(path: Path, options: LoadOptions):
    """The CSV as a DataFrame (``--transpose``: first column as index); decoder, encoding and
    duplicate-header problems are DataErrors."""
    import pandas as pd

    sep = _sep(options)
    header = _csv_call(path, sep, lambda: pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                                                      keep_default_na=False))
    names = [str(v).strip() for v in header.iloc[0].tolist()] if len(header) else []
    if not options.transpose:
        dups = sorted({n for n in names if names.count(n) > 1 and n})
        if dups:
            raise DataError(f"{path}: duplicate column names {some(quote(d) for d in dups)} in the header; "
                            "rename them so each column is unique")
    return _csv_call(path, sep, lambda: pd.read_csv(path, sep=sep, index_col=0 if options.transpose else None,
                                                    low_memory=False))


def _sep_hint(path: Path, names: list[str], options: LoadOptions) -> str:
    """'; the header looks ';'-separated: pass --sep ';'' when one header cell holds another separator."""
    if len(names) > 2:
        return ""
    text = " ".join(str(n) for n in names)
    try:
        others = "".join(s for s in ",;\t|" if s != _sep(options))
        found = csv.Sniffer().sniff(text, delimiters=others).delimiter
    except csv.Error:
        return ""
    flag = "tab" if found == "\t" else repr(found)
    return f"; the header looks {flag}-separated: pass --sep {flag}"


def _numeric_features(frame, path: Path, transposed: bool):
    """Frame converted to numbers; a non-numeric cell names its feature (column, or gene row)."""
    import pandas as pd

    out = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s):
            continue
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna()
        if bad.any():
            row = bad.idxmax()
            value = quote(s[row])
            if transposed:
                raise DataError(f"{path}: non-numeric values in gene row {quote(row)} (e.g. {value} for "
                                f"{quote(col)[1:-1]}); fix or drop that row, or name it with --label-column")
            raise DataError(f"{path}: non-numeric feature column {quote(col)} (e.g. {value} at "
                            f"{quote(row)[1:-1]}); drop the column or name it with --id-column / "
                            "--label-column")
        out[col] = conv
    return out


def _sample_names(ids: list[Any] | None, n: int) -> list[str]:
    """"sample ID" per row (the id column), or "line N" of the file where there is no id."""
    import pandas as pd

    if ids is None:
        return [f"line {i + 2}" for i in range(n)]
    return [f"line {i + 2}" if pd.isna(v) or not str(v).strip() else f"sample {quote(str(v).strip())[1:-1]}"
            for i, v in enumerate(ids)]


def _check_ids(path: Path, ids: list[Any], column: str) -> None:
    """Sample ids must be unique."""
    import pandas as pd

    seen: dict[str, int] = {}
    for v in ids:
        if not pd.isna(v):
            key = str(v).strip()
            seen[key] = seen.get(key, 0) + 1
    dups = [k for k, c in seen.items() if c > 1]
    if dups:
        raise DataError(f"{path}: {len(dups)} duplicate sample ids in {quote(column)} (e.g. "
                        f"{some((quote(d) for d in dups), 3)}); make the ids unique or drop --id-column")


def _check_labels_text(path: Path, text: list[str], label: str, axis: str) -> list[str]:
    """Class names from label texts; refuses a single class and labels that look continuous or like ids."""
    class_names = class_order(text)
    if len(class_names) < 2:
        raise DataError(f"{path}: label {axis} {quote(label)} has a single class {quote(class_names[0])}; "
                        "a classifier needs at least two")
    numeric = True
    try:
        values = [float(t) for t in class_names]
    except ValueError:
        numeric = False
    many = len(class_names) > max(20, len(text) // 2)
    if numeric and many and not all(v.is_integer() for v in values):
        raise DataError(f"{path}: label {axis} {quote(label)} looks continuous ({len(class_names)} distinct "
                        f"numbers in {len(text)} samples, e.g. {some(class_names, 3)}); a classifier needs "
                        "class labels: bin the values or pick another --label-column")
    if many:
        raise DataError(f"{path}: label {axis} {quote(label)} has {len(class_names)} classes for {len(text)} "
                        f"samples (e.g. {some((quote(c) for c in class_names), 3)}); it looks like ids or "
                        "measurements, not classes: pick another --label-column")
    return class_names


def load_csv(path_str: str, options: LoadOptions) -> Dataset:
    """Expression or tabular data from a CSV: numeric features plus a label column of any strings."""
    path = existing_path(path_str, "csv")
    df = _read_csv(path, options)
    label = options.label_column
    axis = "row" if options.transpose else "column"
    names = list(df.index if options.transpose else df.columns)
    if not label:
        raise DataError(f"{path}: say which {axis} holds the class labels with --label-column NAME "
                        f"({axis}s: {some_of(names)})")
    if options.transpose:
        dups = sorted({str(n) for n in df.index[df.index.duplicated()]})
        if dups:
            raise DataError(f"{path}: duplicate row names {some(quote(d) for d in dups)}; rename them so "
                            "each row is unique")
    if label not in names:
        hint = _sep_hint(path, names, options)
        if not hint and not options.transpose:
            hint = "; for genes as rows and samples as columns add --transpose"
        raise DataError(f"{path}: no label {axis} {quote(label)} ({axis}s: {some_of(names)}); "
                        f"pass --label-column with one of them{hint}")
    drop = [label]
    if options.id_column:
        if options.id_column not in names:
            raise DataError(f"{path}: no id {axis} {quote(options.id_column)} ({axis}s: {some_of(names)}); "
                            "fix --id-column or drop it")
        drop.append(options.id_column)
    elif not options.transpose and str(names[0]).startswith("Unnamed: 0"):
        drop.append(names[0])  # an unnamed first column: sample ids written by pandas / R
    if options.site_column:
        if options.site_column not in names or options.site_column in drop:
            raise DataError(f"{path}: no site {axis} {quote(options.site_column)} ({axis}s: "
                            f"{some_of(names)}); fix --partition by-column:NAME")
        site_values = (df.loc[options.site_column] if options.transpose else df[options.site_column])
        sites = np.array([str(v) for v in site_values.tolist()])
        drop.append(options.site_column)
    # sample names for messages: "sample ID", or "line N" of the file
    if options.transpose:
        if options.id_column:
            _check_ids(path, df.loc[options.id_column].tolist(), options.id_column)
        df.columns = [f"sample {quote(str(c))[1:-1]}" for c in df.columns]
        labels = df.loc[label]
        feats = _numeric_features(df.drop(index=drop), path, transposed=True).T
    else:
        ids = df[drop[1]].tolist() if len(drop) > 1 and drop[1] != options.site_column else None
        if options.id_column:
            _check_ids(path, ids, options.id_column)
        df.index = _sample_names(ids, len(df))
        labels = df[label]
        feats = _numeric_features(df.drop(columns=drop), path, transposed=False)
    if feats.shape[0] == 0 or feats.shape[1] == 0:
        raise DataError(f"{path}: no samples or no feature {axis}s besides the label; check --sep and "
                        "--transpose")
    missing = labels.isna() | (labels.astype(str).str.strip() == "")
    if missing.any():
        raise DataError(f"{path}: {int(missing.sum())} samples have no label in {quote(label)} (e.g. "
                        f"{some_of(labels.index[missing.to_numpy()], 3)}); fill in or remove those samples")
    x = feats.to_numpy(dtype=np.float64)
    inf = np.isinf(x)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(f"{path}: {int(inf.sum())} infinite values (e.g. feature {quote(feats.columns[c])} "
                        f"at {feats.index[r]}); replace them with numbers or empty cells to impute")
    with np.errstate(invalid="ignore"):
        huge = np.abs(x) >= 1e38
    if huge.any():
        r, c = np.argwhere(huge)[0]
        raise DataError(f"{path}: {int(huge.sum())} values too large to compute with (e.g. {x[r, c]:g} for "
                        f"feature {quote(feats.columns[c])} at {feats.index[r]}; limit 1e38); rescale "
                        "them (e.g. log) or fix the cells")
    nan = np.isnan(x)
    if nan.any() and options.impute == "error":
        r, c = np.argwhere(nan)[0]
        raise DataError(f"{path}: {int(nan.sum())} empty or NaN cells (e.g. feature "
                        f"{quote(feats.columns[c])} at {feats.index[r]}); fill them or pass --impute "
                        "median|mean|zero")
    text = [label_text(v) for v in labels.tolist()]
    stripped = sum(1 for v in labels.tolist() if isinstance(v, str) and v != v.strip())
    class_names = _check_labels_text(path, text, label, axis)
    y = np.array([class_names.index(t) for t in text], dtype=np.int64)
    idx = split_indices(y, options, class_names, str(path))
    splits, info = preprocess_splits(x, y, idx, options, str(path),
                                     feature_names=[str(c) for c in feats.columns])
    site_splits = ({k: sites[i] for k, i in zip(("train", "val", "test"), idx)}
                   if options.site_column else None)
    sha = file_digest(path)
    return Dataset(
        name=f"csv:{path_str}",
        modality="expression",
        class_names=class_names,
        provenance=Provenance(source=f"user file {path.resolve()}", licence=LICENCE, files={path.name: sha}),
        fold=fold_of(options),
        info={**info, "file": str(path.resolve()), "sha256": sha, "label_column": label,
              "layout": "genes as rows (--transpose)" if options.transpose else "samples as rows",
              "n_samples": int(x.shape[0]), "cv_folds": options.cv_folds,
              "labels": f"leading/trailing whitespace stripped ({stripped} labels changed)",
              "preprocessing": f"impute {options.impute}, drop constant features, optional top-k by "
                               "variance, standardise (train statistics)"},
        sites=site_splits,
        **splits,
    )


