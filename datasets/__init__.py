"""oncobench datasets: one ``DatasetSpec`` per dataset; loaders return one typed ``Dataset``."""

ONCOBENCH = True  # marker: the CLI checks it to detect a shadowing 'datasets' package

from datasets.base import Dataset, LoadOptions, Provenance, Split  # noqa: E402
from datasets.registry import (  # noqa: E402
    DatasetSpec,
    get_dataset,
    list_datasets,
    register_dataset,
    register_prefix,
)
from datasets.spec import OfficialSplit, PublishedResult, SeededSplit  # noqa: E402

__all__ = [
    "Dataset",
    "DatasetSpec",
    "LoadOptions",
    "OfficialSplit",
    "Provenance",
    "PublishedResult",
    "SeededSplit",
    "Split",
    "get_dataset",
    "list_datasets",
    "register_dataset",
    "register_prefix",
]
