"""Published reference results, read from the dataset specs: shown beside ours, never as ours.

The figures and their citations live with each dataset (``published`` of its
``DatasetSpec``); this module only looks them up. Citations are plain text (no URLs)
so that the HTML report stays free of external links.
"""

from __future__ import annotations

from benchmarks.core.errors import OncobenchError
from datasets.spec import PublishedResult

__all__ = ["PUBLISHED_LABEL", "PublishedResult", "cited", "published_for"]

PUBLISHED_LABEL = "published, not measured here"


def published_for(dataset: str) -> tuple[tuple[PublishedResult, ...], str]:
    """Published results for ``dataset`` (empty when none) and a note on how to read them."""
    from datasets.registry import get_dataset

    try:
        spec = get_dataset(dataset)
    except OncobenchError:  # not registered here (e.g. a user's csv: file gone)
        return (), ""
    return spec.published, spec.published_note


def cited(results: tuple[PublishedResult, ...]) -> list[str]:
    """The citation texts used by ``results``, each once, in order."""
    return list(dict.fromkeys(r.citation for r in results))
