"""The kinds of data the suite knows (a leaf module: models and datasets both read it)."""

from __future__ import annotations

EXPRESSION = "expression"  # gene-expression matrices (samples x genes)
TABULAR = "tabular"  # other numeric feature tables
IMAGE = "image"  # images (samples x height x width x channels), values in [0, 1]
MODALITIES: tuple[str, ...] = (EXPRESSION, TABULAR, IMAGE)
