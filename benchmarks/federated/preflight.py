"""Refuse a federated run before anything trains: no Flower, a non-Keras model, or a partition
that cannot be made (exit 2, one line)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from benchmarks.config.federated import FederatedConfig
from benchmarks.core.errors import OncobenchError
from benchmarks.federated import require_flower
from benchmarks.federated.partition import ClientSplit, partition

if TYPE_CHECKING:
    from datasets.base import Dataset, LoadOptions
    from models.registry import ModelSpec


def check_model(spec: ModelSpec) -> None:
    """Only Keras models train federated."""
    if spec.framework != "keras":
        raise OncobenchError(f"--federated: model {spec.name!r} is a {spec.framework} model; federated "
                             "training needs a Keras model (e.g. dnn, cnn)")


def pool(ds: Dataset) -> tuple[np.ndarray, np.ndarray, float]:
    """The clients' pool (train + val), its labels, and the validation fraction each keeps."""
    x = np.concatenate([ds.train.x, ds.val.x])
    y = np.concatenate([ds.train.y, ds.val.y])
    return x, y, len(ds.val) / max(1, len(y))


def sites_of(ds: Dataset) -> np.ndarray | None:
    """Per pool sample (train then val), its site (``by-column``), when the loader kept one."""
    if not ds.sites:
        return None
    return np.concatenate([np.asarray(ds.sites["train"]), np.asarray(ds.sites["val"])])


def client_splits(ds: Dataset, fed: FederatedConfig, seed: int) -> list[ClientSplit]:
    """The clients' shares of ``ds`` for ``seed`` (raises on an impossible partition)."""
    _, y, val_fraction = pool(ds)
    return partition(y, fed.partition, fed.clients, seed, val_fraction, sites_of(ds))


def preflight(pairs: list, seeds: tuple[int, ...], fed: FederatedConfig, options: LoadOptions) -> None:
    """Check every (model, dataset, seed) of a federated run; raise before anything trains. The
    model and partition are checked first: those messages hold whether Flower is installed or not."""
    for mspec, _ in pairs:
        check_model(mspec)
    folds = list(range(options.cv_folds)) if options.cv_folds else [None]
    for dspec in {d.name: d for _, d in pairs}.values():
        for seed in seeds:
            for fold in folds:
                client_splits(dspec.load(replace(options, seed=seed, fold=fold)), fed, seed)
    require_flower()
