"""Framework adapters: one per way to train (Keras, scikit-learn), chosen by ``spec.framework``.

A new way to train (federated rounds, a distribution strategy) is a new adapter registered
here with ``register_adapter``; the harness needs no new branch. Adapter modules are
imported on first use, so importing this package imports no framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from benchmarks.adapters.base import Adapter, AdapterResult, RunContext
from benchmarks.core.errors import OncobenchError

if TYPE_CHECKING:
    from benchmarks.config import RunConfig
    from models.registry import ModelSpec

__all__ = ["Adapter", "AdapterResult", "RunContext", "adapter_for", "register_adapter"]

# framework -> an adapter, or the module whose ``ADAPTER`` it is (imported on first use)
_ADAPTERS: dict[str, Adapter | str] = {
    "keras": "benchmarks.adapters.keras",
    "sklearn": "benchmarks.adapters.sklearn",
}
# Ways to train chosen by the run config rather than the model's framework.
_WAYS: dict[str, Adapter | str] = {
    "federated": "benchmarks.federated.adapter",  # config.federated set (Flower)
}


def register_adapter(framework: str, adapter: Adapter | str) -> None:
    """Make ``adapter`` (or the module path holding ``ADAPTER``) train ``framework`` models."""
    _ADAPTERS[framework] = adapter


def adapter_for(spec: ModelSpec, config: RunConfig | None = None) -> Adapter:
    """The adapter that trains ``spec``: the federated one when ``config.federated`` is set,
    else the one of its ``framework``."""
    if config is not None and config.federated is not None:
        return _load(_WAYS, "federated")
    try:
        adapter = _ADAPTERS[spec.framework]
    except KeyError:
        raise OncobenchError(f"model {spec.name!r}: no adapter for framework {spec.framework!r}; "
                             f"valid: {', '.join(sorted(_ADAPTERS))}") from None
    return _load(_ADAPTERS, spec.framework) if isinstance(adapter, str) else adapter


def _load(table: dict[str, Adapter | str], name: str) -> Adapter:
    """``table[name]``, importing its module's ``ADAPTER`` on first use."""
    adapter = table[name]
    if isinstance(adapter, str):
        adapter = table[name] = importlib.import_module(adapter).ADAPTER
    return adapter
