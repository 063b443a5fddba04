"""Bring-your-own data: ``csv:PATH``, ``npz:PATH`` and ``folder:PATH`` datasets.

* ``csv:PATH --label-column COL [--id-column COL] [--sep ,] [--transpose]``: expression or
  tabular data, samples as rows (``--transpose``: genes as rows, samples as columns, the
  label as a row). An unnamed first column (a saved pandas index) is taken as sample ids.
* ``npz:PATH``: images in the MedMNIST key layout (``train_images``, ``train_labels``,
  ``val_*``, ``test_*``; optional ``class_names``), grayscale or RGB, official split.
* ``folder:PATH``: one sub-folder of PNG/JPEG images per class, seeded stratified split
  (or ``--cv K``), resized to ``--image-size N`` when given.

Every record names the file and its sha256. Bad content fails with one line naming
the file, the problem and the fix. Nothing is unpickled.
"""


from __future__ import annotations

from functools import partial

from benchmarks.core.modalities import EXPRESSION, IMAGE
from datasets.base import Provenance
from datasets.custom.common import LICENCE, existing_path
from datasets.custom.folder import load_folder
from datasets.custom.npz import load_npz_images
from datasets.custom.table import load_csv
from datasets.registry import DatasetSpec, register_prefix
from datasets.spec import OfficialSplit, SeededSplit

__all__ = ["load_csv", "load_folder", "load_npz_images"]


def _spec(kind: str, modality: str, loader, path_str: str) -> DatasetSpec:
    path = existing_path(path_str, kind)  # fail fast, before any model is built
    return DatasetSpec(
        name=f"{kind}:{path_str}",
        modality=modality,
        loader=partial(loader, path_str),
        classes=0,  # known once loaded
        size=f"user {kind}",
        # npz files carry their own train/val/test split
        split=OfficialSplit() if kind == "npz" else SeededSplit(),
        provenance=Provenance(source=f"user data {path}", licence=LICENCE),
        is_available=lambda _o: path.exists(),
        bundled=False,
        description=f"user data {path}",
        how_to_get=f"check the path {path}",
    )


register_prefix("csv")(partial(_spec, "csv", EXPRESSION, load_csv))
register_prefix("npz")(partial(_spec, "npz", IMAGE, load_npz_images))
register_prefix("folder")(partial(_spec, "folder", IMAGE, load_folder))
