"""Dataset registry: ``@register_dataset`` records a loader with its metadata.

Listing never imports TensorFlow nor reads large files.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from benchmarks.errors import OncobenchError
from datasets.base import Dataset, LoadOptions

_LOADER_MODULES = ("datasets.medmnist", "datasets.golub", "datasets.wisconsin")


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: its loader and what a listing shows."""

    name: str
    modality: str
    loader: Callable[[LoadOptions], Dataset]
    num_classes: int
    size: str  # human summary, e.g. "546/78/156 x 28x28x1"
    available: Callable[[LoadOptions], bool]  # True when usable with no network
    bundled: bool = True
    description: str = ""
    how_to_get: str = ""  # shown when unavailable
    supports_cv: bool = False  # False: an official fixed split (--cv does not apply)

    def load(self, options: LoadOptions | None = None) -> Dataset:
        options = options or LoadOptions()
        if options.cv_folds and not self.supports_cv:
            raise no_cv_error(self.name)
        return self.loader(options)


_REGISTRY: dict[str, DatasetSpec] = {}
# "csv:PATH"-style datasets: prefix -> function(path) -> DatasetSpec
_PREFIXES: dict[str, Callable[[str], DatasetSpec]] = {}
_loaded = False


def _always(_: LoadOptions) -> bool:
    return True


def register_dataset(
    name: str,
    *,
    modality: str,
    num_classes: int,
    size: str,
    bundled: bool = True,
    available: Callable[[LoadOptions], bool] | None = None,
    how_to_get: str = "",
    supports_cv: bool = False,
):
    """Decorator: register ``loader(options) -> Dataset`` under ``name``."""

    def deco(fn: Callable[[LoadOptions], Dataset]):
        if name in _REGISTRY:
            raise ValueError(f"dataset {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = DatasetSpec(
            name=name,
            modality=modality,
            loader=fn,
            num_classes=num_classes,
            size=size,
            available=available or _always,
            bundled=bundled,
            description=doc[0] if doc else "",
            how_to_get=how_to_get,
            supports_cv=supports_cv,
        )
        return fn

    return deco


def add_dataset(spec: DatasetSpec) -> None:
    """Register a spec built by code (e.g. one per MedMNIST flag and size)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec


def no_cv_error(name: str) -> OncobenchError:
    """The one message for --cv on a dataset with an official split."""
    cv = [d.name for d in list_datasets() if d.supports_cv]
    return OncobenchError(f"dataset {name!r} has an official split; --cv applies to: "
                          f"{', '.join(cv)}, csv:PATH, folder:PATH; drop --cv")


def register_prefix(prefix: str, factory: Callable[[str], DatasetSpec]) -> None:
    """Register a ``prefix:PATH`` dataset kind (bring-your-own data)."""
    _PREFIXES[prefix] = factory


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _LOADER_MODULES:
            importlib.import_module(mod)
        for mod in ("datasets.uci_rnaseq", "datasets.custom"):
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as exc:  # optional modules not present yet
                if exc.name != mod:
                    raise


def list_datasets() -> list[DatasetSpec]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def get_dataset(name: str) -> DatasetSpec:
    _ensure_loaded()
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _PREFIXES:
        return _PREFIXES[prefix](rest)
    try:
        return _REGISTRY[name]
    except KeyError:
        kinds = "".join(f", {p}:PATH" for p in sorted(_PREFIXES))
        raise OncobenchError(
            f"unknown dataset {name!r}; valid datasets: {', '.join(sorted(_REGISTRY))}{kinds}"
        ) from None
