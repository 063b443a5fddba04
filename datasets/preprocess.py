"""Preprocessing fitted on the training split only, then applied to every split."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.core.errors import DataError, some
from datasets.base import LoadOptions, Split

IMPUTE_CHOICES = ("median", "mean", "zero", "error")
MAX_ABS_VALUE = 1e38  # beyond this a value overflows float32, and its square float64


@dataclass
class TabularPreprocessor:
    """Impute missing values, drop constant features, keep top-k variable ones, standardise.

    Every statistic comes from ``fit`` (the training split).
    """

    impute: str = "median"
    top_k: int | None = None
    standardize: bool = True
    fill_: np.ndarray | None = None
    keep_: np.ndarray | None = None
    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def _checked(self, x: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
        """float64 features and their NaN mask; infinities (and NaN with --impute error) refused."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            huge = np.abs(x) >= MAX_ABS_VALUE
        if huge.any() and not np.isinf(x).any():
            raise DataError(
                f"{int(huge.sum())} values of magnitude >= 1e38 in the {split or 'input'} features "
                f"(e.g. {x[huge][0]:g}), which overflow float32; rescale them (e.g. log) before loading"
            )
        if np.isinf(x).any():
            raise DataError(
                f"{int(np.isinf(x).sum())} infinite values in the {split or 'input'} features; "
                "replace them (e.g. with NaN to impute) before loading"
            )
        nan = np.isnan(x)
        if nan.any() and self.impute == "error":
            raise DataError(
                f"{int(nan.sum())} missing (NaN/empty) values in the {split or 'input'} features; "
                "fix the file or pass --impute median|mean|zero"
            )
        return x, nan

    def fit(self, x: np.ndarray) -> "TabularPreprocessor":
        if self.impute not in IMPUTE_CHOICES:
            raise DataError(f"unknown --impute {self.impute!r}; valid: {', '.join(IMPUTE_CHOICES)}")
        x, nan = self._checked(x, "training")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: filled with 0 below
            if self.impute == "median":
                fill = np.nanmedian(x, axis=0)
            elif self.impute == "mean":
                fill = np.nanmean(x, axis=0)
            else:
                fill = np.zeros(x.shape[1])
        self.fill_ = np.where(np.isnan(fill), 0.0, fill)
        x = np.where(nan, self.fill_, x)
        var = x.var(axis=0)
        keep = np.flatnonzero(np.ptp(x, axis=0) > 0)  # exact: var() of equal values can be 1e-30
        n_constant = x.shape[1] - keep.size
        if self.top_k and self.top_k < keep.size:
            order = np.argsort(var[keep])[::-1][: self.top_k]
            keep = np.sort(keep[order])
        if keep.size == 0:
            raise DataError(
                f"no usable features: all {x.shape[1]} feature columns are constant or empty in the "
                "training split; check --sep / --transpose and that the file holds measurements"
            )
        self.keep_ = keep
        xk = x[:, keep]
        with np.errstate(all="ignore"):
            self.mean_ = xk.mean(axis=0) if self.standardize else np.zeros(keep.size)
            std = xk.std(axis=0) if self.standardize else np.ones(keep.size)
        if not (np.isfinite(self.mean_).all() and np.isfinite(std).all()):
            raise DataError(
                "feature values overflow when standardised (mean or variance is infinite); "
                "rescale them (e.g. log) before loading"
            )
        self.scale_ = np.where(std > 0, std, 1.0)
        self.info = {
            "n_features_in": int(x.shape[1]),
            "n_features": int(keep.size),
            "dropped_constant_features": int(n_constant),
            "top_k_genes": self.top_k,
            "imputed_train_values": int(nan.sum()),
            "impute": self.impute,
        }
        return self

    def kept(self, values: list[str] | None) -> list[str] | None:
        """Per-input-feature ``values`` (names, descriptions) of the features ``fit`` kept, in order."""
        if values is None or self.keep_ is None:
            return None
        if len(values) != int(self.info.get("n_features_in", len(values))):
            raise DataError(f"{len(values)} feature names for {self.info['n_features_in']} features")
        return [str(values[i]) for i in self.keep_]

    def transform(self, x: np.ndarray, split: str = "") -> np.ndarray:
        x, nan = self._checked(x, split)
        if nan.any():
            self.info[f"imputed_{split or 'other'}_values"] = int(nan.sum())
            x = np.where(nan, self.fill_, x)
        with np.errstate(all="ignore"):
            out = ((x[:, self.keep_] - self.mean_) / self.scale_).astype(np.float32)
        if not np.isfinite(out).all():
            raise DataError(
                f"{split or 'input'} features overflow float32 once standardised; "
                "rescale them (e.g. log) before loading"
            )
        return out


MAX_PIXEL_INT = 65535  # integer pixels above this are refused (not 8- or 16-bit images)


def pixel_scale(x: np.ndarray, where: str = "images") -> tuple[float, int]:
    """(divisor that maps ``x`` onto [0, 1], source bit depth) from its dtype and values.

    uint8 /255, uint16 /65535, bool 0/1; wider integers /255 or /65535 by their largest
    value; floats must be finite and in [0, 1] (or whole numbers in 0..255, scaled /255).
    Anything else (strings, negative or out-of-range values, NaN/inf) is a DataError.
    """
    if not isinstance(x, np.ndarray) and x.dtype.kind in "if" and len(x):  # rows on disk: by chunks
        step = max(1, (64 << 20) // max(1, x[:1].nbytes))
        return max(pixel_scale(x[i:i + step], where) for i in range(0, len(x), step))
    kind = x.dtype.kind
    if kind not in "biuf":
        raise DataError(f"{where}: pixels have dtype {x.dtype}, not numbers; store images as uint8 "
                        "(or uint16 / float in [0, 1])")
    if x.size == 0 or kind == "b":
        return 1.0, 1 if kind == "b" else 8
    if kind == "u" and x.dtype.itemsize <= 2:
        return float(np.iinfo(x.dtype).max), 8 * x.dtype.itemsize
    lo, hi = x.min(), x.max()
    if kind == "f":
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise DataError(f"{where}: {int((~np.isfinite(x)).sum())} NaN or infinite pixel values; "
                            "replace them before loading")
        if lo >= 0 and hi <= 1:
            return 1.0, 8 * x.dtype.itemsize
        if lo >= 0 and hi <= 255 and np.all(np.mod(x, 1) == 0):
            return 255.0, 8  # 8-bit values stored as floats
        raise DataError(f"{where}: float pixels range {lo:g}..{hi:g}, outside [0, 1]; scale them to "
                        "[0, 1] or store uint8 / uint16 images")
    if lo < 0 or hi > MAX_PIXEL_INT:
        raise DataError(f"{where}: integer pixels range {int(lo)}..{int(hi)} ({x.dtype}), outside 0..65535; "
                        "store uint8 (0..255) or uint16 (0..65535) images")
    return (255.0, 8) if hi <= 255 else (65535.0, 16)


def with_channels(x: Any, where: str = "images") -> Any:
    """Images (N,H,W) or (N,H,W,C) as (N,H,W,C), pixels untouched (a view, or a re-shaped reader)."""
    if x.ndim == 3:
        x = x[..., None] if isinstance(x, np.ndarray) else x.with_shape((*x.shape, 1))
    if x.ndim != 4:
        raise DataError(f"{where}: images must be (N,H,W) or (N,H,W,C), got shape {x.shape}")
    return x


def images_to_float(x: np.ndarray, where: str = "images") -> np.ndarray:
    """Images (N,H,W) or (N,H,W,C) -> float32 in [0, 1] with a channel axis, scaled by their
    true range (see ``pixel_scale``)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(f"{where}: images must be (N,H,W) or (N,H,W,C), got shape {x.shape}")
    scale, _ = pixel_scale(x, where)
    out = x.astype(np.float32)
    return out / np.float32(scale) if scale != 1.0 else out


def check_labels(y: np.ndarray, num_classes: int, where: str) -> np.ndarray:
    """Flatten labels to int64 and check they lie in 0..num_classes-1."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[1:] != (1,) * (y.ndim - 1):
        raise DataError(f"{where}: labels have shape {y.shape}; expected one class index per sample, "
                        "(N,) or (N,1) (one-hot or multi-label arrays are not supported)")
    y = y.reshape(-1)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(
            f"{where}: labels out of range (found {int(y.min())}..{int(y.max())}, "
            f"expected 0..{num_classes - 1}); fix the labels or the class list"
        )
    return y.astype(np.int64)


def check_min_per_class(y: np.ndarray, need: int, class_names: list[str], where: str) -> None:
    counts = np.bincount(y, minlength=len(class_names))
    small = [f"{class_names[i]} ({int(c)})" for i, c in enumerate(counts) if c < need]
    if small:
        raise DataError(
            f"{where}: class {some(small)} has fewer than {need} samples, "
            "too few for a stratified split; add samples or drop the class"
        )


def stratified_split(
    y: np.ndarray, fractions: tuple[float, float], seed: int, class_names: list[str], where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of a seeded stratified train/val/test split (val and test fractions)."""
    from sklearn.model_selection import train_test_split

    val_f, test_f = fractions
    check_min_per_class(y, 3, class_names, where)
    idx = np.arange(y.size)
    rest, test = train_test_split(idx, test_size=test_f, stratify=y, random_state=seed)
    train, val = train_test_split(
        rest, test_size=val_f / (1 - test_f), stratify=y[rest], random_state=seed
    )
    return np.sort(train), np.sort(val), np.sort(test)


def kfold_split(
    y: np.ndarray, k: int, fold: int, seed: int, val_fraction: float, class_names: list[str], where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fold ``fold`` of a stratified seeded K-fold: test is the fold, val carved from the rest."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    if not 0 <= fold < k:
        raise DataError(f"fold {fold} out of range for --cv {k}")
    check_min_per_class(y, k + 1, class_names, where)
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    rest, test = list(skf.split(np.zeros(y.size), y))[fold]
    train, val = train_test_split(rest, test_size=val_fraction, stratify=y[rest], random_state=seed)
    return np.sort(train), np.sort(val), np.sort(test)


def split_indices(
    y: np.ndarray, options: LoadOptions, class_names: list[str], where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/val/test indices from ``LoadOptions``: fold ``options.fold`` of ``--cv K``, else a
    seeded stratified split."""
    if options.cv_folds:
        counts = np.bincount(y, minlength=len(class_names))
        small = [f"{class_names[i]} ({int(c)})" for i, c in enumerate(counts) if c <= options.cv_folds]
        if small:
            k = options.cv_folds
            raise DataError(f"{where}: class {some(small)} has too few samples for --cv {k} "
                            f"(needs more than {k}); lower --cv or add samples")
    try:
        if options.cv_folds:
            return kfold_split(y, options.cv_folds, options.fold or 0, options.seed, options.val_fraction,
                               class_names, where)
        fractions = (options.val_fraction, options.test_fraction)
        return stratified_split(y, fractions, options.seed, class_names, where)
    except ValueError as exc:  # scikit-learn: a split too small for the number of classes
        raise DataError(f"{where}: cannot make a stratified split of {y.size} samples into "
                        f"{len(class_names)} classes ({exc}); add samples") from None


def preprocess_splits(
    x: np.ndarray, y: np.ndarray, idx: tuple[np.ndarray, np.ndarray, np.ndarray], options: LoadOptions,
    where: str, *, feature_names: list[str] | None = None, feature_descriptions: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit a ``TabularPreprocessor`` on the train indices and apply it to all three splits.

    Returns ``({"train": Split, "val": ..., "test": ...}, info)``; errors name ``where``;
    ``info["imputed_values"]`` counts every imputed cell. With ``feature_names`` (one per column
    of ``x``) the first dict also holds the kept ``feature_names`` (and ``feature_descriptions``),
    aligned with the kept columns: ``Dataset(**splits, ...)`` takes them as they are.
    """
    prep = TabularPreprocessor(impute=options.impute, top_k=options.top_k_genes)
    try:
        prep.fit(x[idx[0]])
        names = ("train", "val", "test")
        out: dict[str, Any] = {name: Split(prep.transform(x[i], name), y[i]) for name, i in zip(names, idx)}
        if feature_names is not None:
            out["feature_names"] = prep.kept(feature_names)
            out["feature_descriptions"] = prep.kept(feature_descriptions)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    info = dict(prep.info)
    info["imputed_values"] = sum(int(v) for k, v in info.items() if k.startswith("imputed_") and
                                 k.endswith("_values"))
    return out, info
