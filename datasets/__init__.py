"""oncobench datasets: loaders returning one typed ``Dataset`` object."""

ONCOBENCH = True  # marker: the CLI checks it to detect a shadowing 'datasets' package

from datasets.base import Dataset, LoadOptions, Provenance, Split  # noqa: E402
from datasets.registry import DatasetSpec, get_dataset, list_datasets, register_dataset  # noqa: E402

__all__ = [
    "Dataset",
    "DatasetSpec",
    "LoadOptions",
    "Provenance",
    "Split",
    "get_dataset",
    "list_datasets",
    "register_dataset",
]
