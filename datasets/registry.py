"""Dataset registry: one ``DatasetSpec`` per dataset, registered by ``@register_dataset``.

A spec holds every fact about a dataset (modality, classes, split, provenance, remote
files, published results); ``DatasetSpec.load`` checks the loaded data against it.
``prefix:PATH`` kinds (bring-your-own data) register with ``@register_prefix``.
Listing never imports TensorFlow nor reads large files.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from benchmarks.core.errors import DataError, OncobenchError
from benchmarks.core.modalities import MODALITIES
from benchmarks.core.plugins import (
    BUILTIN,
    DATASET_GROUP,
    current_origin,
    entry_point_plugins,
    registering_from,
)
from datasets import download
from datasets.base import Dataset, LoadOptions, Provenance
from datasets.download import Remote
from datasets.spec import PublishedResult, SplitKind

_LOADER_MODULES = ("datasets.medmnist", "datasets.golub", "datasets.wisconsin", "datasets.uci_rnaseq",
                   "datasets.custom")

Loader = Callable[[LoadOptions], Dataset]
L = TypeVar("L", bound=Callable[..., Dataset])


@dataclass(frozen=True)
class DatasetSpec:
    """Everything known about one dataset before loading it."""

    name: str
    modality: str  # one of benchmarks.core.modalities.MODALITIES
    loader: Loader
    classes: tuple[str, ...] | int  # class names, or only their count (0: known once loaded)
    size: str  # human summary, e.g. "546/78/156 x 28x28x1"
    split: SplitKind
    provenance: Provenance
    remotes: tuple[Remote, ...] = ()  # files downloaded on demand
    fetcher: Callable[[LoadOptions], list[Path]] | None = None  # default: fetch every remote
    is_available: Callable[[LoadOptions], bool] | None = None  # default: every remote present
    bundled: bool = True  # ships with oncobench (no download)
    description: str = ""
    how_to_get: str = ""  # shown when unavailable
    published: tuple[PublishedResult, ...] = field(default=(), repr=False)
    published_note: str = ""  # how to read the published results
    origin: str = BUILTIN  # where it was registered from: oncobench, a plugin, an entry point

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ValueError(f"dataset {self.name!r}: " + "; ".join(problems))

    @property
    def num_classes(self) -> int:
        return len(self.classes) if isinstance(self.classes, tuple) else self.classes

    @property
    def supports_cv(self) -> bool:
        return self.split.supports_cv

    def available(self, options: LoadOptions) -> bool:
        """True when usable with no network."""
        if self.is_available is not None:
            return self.is_available(options)
        root = download.root_of(options)
        return all(download.is_present(r, root) for r in self.remotes)

    def fetch(self, options: LoadOptions) -> list[Path]:
        """Download (when absent) and verify the remote files; returns the local paths."""
        if self.fetcher is not None:
            return self.fetcher(options)
        return [download.fetch(r, download.root_of(options)) for r in self.remotes]

    def load(self, options: LoadOptions | None = None) -> Dataset:
        """Load with ``options`` and check the result against this spec."""
        options = options or LoadOptions()
        if options.cv_folds and not self.supports_cv:
            raise no_cv_error(self.name)
        ds = self.loader(options)
        ds.memory_budget = options.memory_budget()
        problems = self.mismatches(ds)
        if problems:
            raise DataError(f"dataset {self.name!r}: loaded data do not match its spec: "
                            f"{'; '.join(problems)}; fix the loader or the spec it is registered with")
        return ds

    def mismatches(self, ds: Dataset) -> list[str]:
        """What differs between a loaded dataset and this spec (empty when it matches)."""
        out = []
        if ds.name != self.name:
            out.append(f"name is {ds.name!r}")
        if ds.modality != self.modality:
            out.append(f"modality is {ds.modality!r}, the spec says {self.modality!r}")
        if isinstance(self.classes, tuple) and tuple(ds.class_names) != self.classes:
            out.append(f"class names are {list(ds.class_names)}, the spec says {list(self.classes)}")
        elif self.num_classes and ds.num_classes != self.num_classes:
            out.append(f"{ds.num_classes} classes, the spec says {self.num_classes}")
        return out + self.split.mismatches(ds)


def validate(spec: DatasetSpec) -> list[str]:
    """What is wrong with a spec (empty when it is well formed)."""
    out = []
    if spec.modality not in MODALITIES:
        out.append(f"unknown modality {spec.modality!r} (known: {', '.join(MODALITIES)})")
    if not spec.provenance.source or not spec.provenance.licence:
        out.append("provenance needs a source and a licence")
    for r in spec.remotes:
        if not r.url or not r.digest or r.algo not in ("sha256", "md5"):
            out.append(f"remote {r.filename!r} needs a url and a sha256 or md5 digest")
    if spec.bundled and spec.remotes:
        out.append("a bundled dataset has no remote files")
    return out


_REGISTRY: dict[str, DatasetSpec] = {}
# "csv:PATH"-style datasets: prefix -> function(path) -> DatasetSpec
_PREFIXES: dict[str, Callable[[str], DatasetSpec]] = {}
_loaded = False


def _plugin_flag(origin: str) -> str:
    """`` --plugin REF`` for a dataset registered by a ``--plugin`` (download needs it too)."""
    return f" --plugin {origin.removeprefix('plugin ')}" if origin.startswith("plugin ") else ""


def register_dataset(
    name: str,
    *,
    modality: str,
    classes: tuple[str, ...] | list[str] | int,
    size: str,
    split: SplitKind,
    provenance: Provenance,
    remotes: tuple[Remote, ...] = (),
    fetch: Callable[[LoadOptions], list[Path]] | None = None,
    available: Callable[[LoadOptions], bool] | None = None,
    description: str = "",
    published: tuple[PublishedResult, ...] = (),
    published_note: str = "",
) -> Callable[[L], L]:
    """Decorator: register ``loader(options) -> Dataset`` under ``name`` with its facts.

    Also usable as a call for loaders built by code:
    ``register_dataset("x", ...)(partial(load, flag, size))``. Datasets with ``remotes``
    are downloaded on demand (``python -m benchmarks download NAME``); the others ship
    with oncobench. ``description`` defaults to the first line of the loader's docstring.
    """

    def deco(fn: L) -> L:
        origin = current_origin(getattr(getattr(fn, "func", fn), "__module__", None))  # partial: its function
        if origin != BUILTIN:
            _ensure_loaded()  # built-ins first, so a duplicate name is blamed on the plugin
        if name in _REGISTRY:
            raise ValueError(f"dataset {name!r} registered twice (first by {_REGISTRY[name].origin})")
        doc = (fn.__doc__ or "").strip().splitlines() if not description else [description]
        _REGISTRY[name] = DatasetSpec(
            name=name, modality=modality, loader=fn,
            classes=tuple(classes) if isinstance(classes, (list, tuple)) else classes,
            size=size, split=split, provenance=provenance, remotes=tuple(remotes), fetcher=fetch,
            is_available=available, bundled=not remotes, description=doc[0] if doc else "",
            how_to_get=f"python -m benchmarks download {name}{_plugin_flag(origin)}" if remotes else "",
            published=tuple(published), published_note=published_note, origin=origin,
        )
        return fn

    return deco


def register_prefix(prefix: str) -> Callable[[Callable[[str], DatasetSpec]], Callable[[str], DatasetSpec]]:
    """Decorator: register a ``prefix:PATH`` kind (bring-your-own data) by its spec factory."""

    def deco(factory: Callable[[str], DatasetSpec]) -> Callable[[str], DatasetSpec]:
        if prefix in _PREFIXES:
            raise ValueError(f"dataset kind {prefix!r}: registered twice")
        _PREFIXES[prefix] = factory
        return factory

    return deco


def no_cv_error(name: str) -> OncobenchError:
    """The one message for --cv on a dataset with an official split."""
    cv = [d.name for d in list_datasets() if d.supports_cv]
    return OncobenchError(f"dataset {name!r} has an official split; --cv applies to: "
                          f"{', '.join(cv)}, csv:PATH, folder:PATH; drop --cv")


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        with registering_from(BUILTIN):
            for mod in _LOADER_MODULES:
                importlib.import_module(mod)
        entry_point_plugins(DATASET_GROUP)


def list_datasets() -> list[DatasetSpec]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def remote_datasets() -> list[DatasetSpec]:
    """Every dataset with files to download."""
    return [d for d in list_datasets() if d.remotes]


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
