"""Test helper: swap a registered dataset spec for one test (a remote served on 127.0.0.1,
a small fixture in place of the published split)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from benchmarks.core.hashing import file_digest
from datasets import registry
from datasets.registry import DatasetSpec, get_dataset


def override_spec(monkeypatch, name: str, *, url: str | None = None, digest_of=None,
                  **changes: Any) -> DatasetSpec:
    """Register ``name`` with ``changes`` until the test ends; ``url`` / ``digest_of`` (a file
    whose checksum becomes the expected one) change its first remote."""
    spec = get_dataset(name)
    if url is not None or digest_of is not None:
        r = spec.remotes[0]
        r = replace(r, url=url or r.url, digest=file_digest(digest_of, r.algo) if digest_of else r.digest)
        changes["remotes"] = (r, *spec.remotes[1:])
    new = replace(spec, **changes)
    monkeypatch.setitem(registry._REGISTRY, name, new)
    return new
