"""Model registry: ``@register_model`` records a builder, its modalities and defaults.

Importing this module (and the builder modules) never imports TensorFlow: builders
import Keras inside their body, so ``python -m benchmarks list`` stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from benchmarks.errors import OncobenchError
from benchmarks.modalities import MODALITIES

# Modules holding builders; imported on first registry access.
_BUILDER_MODULES = ("models.dnn", "models.cnn", "models.hub_transfer", "models.classical")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model builder and what it accepts."""

    name: str
    build: Callable[..., Any]
    modalities: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    framework: str = "keras"  # "keras" or "sklearn"
    description: str = ""
    # Optional second phase: fine_tune(model) unfreezes layers; the harness then
    # recompiles at lr * hparams["fine_tune_lr_scale"] for hparams["fine_tune_epochs"].
    fine_tune: Callable[[Any], None] | None = None

    def accepts(self, modality: str) -> bool:
        return modality in self.modalities

    def hparams(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with overrides; unknown names are an error."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise OncobenchError(
                f"model {self.name!r} has no hyper-parameter {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        return {**self.defaults, **overrides}


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register_model(
    name: str,
    *,
    modalities: tuple[str, ...],
    defaults: dict[str, Any] | None = None,
    framework: str = "keras",
    fine_tune: Callable[[Any], None] | None = None,
):
    """Decorator: register ``build(input_shape, num_classes, **hparams)`` under ``name``."""
    bad = set(modalities) - set(MODALITIES)
    if bad:
        raise ValueError(f"unknown modalities {bad}; valid: {MODALITIES}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelSpec(
            name=name,
            build=fn,
            modalities=tuple(modalities),
            defaults=dict(defaults or {}),
            framework=framework,
            fine_tune=fine_tune,
            description=doc[0] if doc else "",
        )
        return fn

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILDER_MODULES:
            importlib.import_module(mod)


def list_models() -> list[ModelSpec]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def get_model(name: str) -> ModelSpec:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise OncobenchError(
            f"unknown model {name!r}; valid models: {', '.join(sorted(_REGISTRY))}"
        ) from None
