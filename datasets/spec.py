"""The record types of a dataset spec: its split kind and its published reference results.

Plain data, no registry: ``datasets.registry.DatasetSpec`` holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasets.base import Dataset


@dataclass(frozen=True)
class PublishedResult:
    """One published figure: a method's test accuracy / ROC-AUC under a stated setting.

    ``accuracy_high`` makes ``accuracy`` the low end of a range; ``result`` states a claim
    that is not a single accuracy (e.g. Golub's strong-prediction count) in words.
    ``citation`` is the full reference text (plain text, no URL).
    """

    model: str
    setting: str  # input resolution, split or protocol the figure was obtained with
    citation: str
    accuracy: float | None = None
    accuracy_high: float | None = None
    roc_auc: float | None = None
    result: str = ""
    note: str = ""


@dataclass(frozen=True)
class OfficialSplit:
    """A published train/val/test split (``--cv`` does not apply).

    ``val=None``: the validation samples are carved (seeded) from the official ``train``
    samples, so ``train`` counts train + val. Sizes left ``None`` are not known in advance
    (e.g. a user's ``npz:`` file) and not checked.
    """

    train: int | None = None
    test: int | None = None
    val: int | None = None

    supports_cv = False

    def mismatches(self, ds: Dataset) -> list[str]:
        """What differs between ``ds`` and these sizes (empty when it matches)."""
        got = {"train": len(ds.train), "val": len(ds.val), "test": len(ds.test)}
        if self.val is None:
            got["train"] += got.pop("val")
        want = {"train": self.train, "val": self.val, "test": self.test}
        return [f"{k} has {n} samples, the official split has {want[k]}"
                for k, n in got.items() if want[k] is not None and n != want[k]]


@dataclass(frozen=True)
class SeededSplit:
    """No official split: a seeded stratified train/val/test split, or fold i of ``--cv K``."""

    supports_cv = True

    def mismatches(self, ds: Dataset) -> list[str]:
        return []


SplitKind = OfficialSplit | SeededSplit
