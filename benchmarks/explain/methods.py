"""The attribution-method registry: ``@register_method`` like ``@register_model``.

A method is ``fn(target: Explainable, dataset: Dataset, samples: Samples, **settings)
-> np.ndarray`` shaped like ``samples.x``: per-feature (per-pixel) evidence for the sample's
class ``samples.y``; higher means more evidence. A method may instead return ``(attributions,
facts)``, facts (a JSON-able dict, e.g. which features it scored) going into the record.
Settings are the function's keyword-only defaults (recorded with every result).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from benchmarks.core.errors import OncobenchError

_MODULES = ("benchmarks.explain.gradients", "benchmarks.explain.perturbation")


@dataclass(frozen=True)
class Method:
    """One attribution method: which frameworks and modalities it explains, its defaults."""

    name: str
    fn: Callable[..., Any]
    frameworks: tuple[str, ...] | None  # None: any model (only needs predict_proba)
    modalities: tuple[str, ...] | None  # None: any modality
    description: str

    @property
    def defaults(self) -> dict[str, Any]:
        """The method's settings: its keyword-only parameters and their defaults."""
        return {p.name: p.default for p in inspect.signature(self.fn).parameters.values()
                if p.kind is p.KEYWORD_ONLY}

    def applies(self, framework: str, modality: str) -> bool:
        return ((self.frameworks is None or framework in self.frameworks)
                and (self.modalities is None or modality in self.modalities))


_REGISTRY: dict[str, Method] = {}


def register_method(name: str, *, frameworks: tuple[str, ...] | None = None,
                    modalities: tuple[str, ...] | None = None) -> Callable:
    """Decorator: register ``fn`` as attribution method ``name`` (its docstring's first line
    is its description)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"attribution method {name!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Method(name, fn, frameworks, modalities, doc[0] if doc else "")
        return fn

    return deco


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(module)


def list_methods() -> list[Method]:
    """Every registered method, in registration order."""
    _load()
    return list(_REGISTRY.values())


def get_method(name: str) -> Method:
    """The method called ``name``; a one-line error naming the valid ones otherwise."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise OncobenchError(f"unknown attribution method {name!r}; valid: {', '.join(_REGISTRY)}") from None
