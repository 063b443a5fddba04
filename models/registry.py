"""Model registry: ``@register_model`` records a builder and its modalities.

A builder is ``build(input_shape, num_classes, *, hp1=default1, ...)``: its keyword-only
parameters with defaults are the model's hyper-parameters, read once from the signature
(``inspect.signature``), so defaults are written in one place. ``seed`` is reserved: a
builder that declares it receives the run's seed and it is not a hyper-parameter.

Importing this module (and the builder modules) never imports TensorFlow: builders
import Keras inside their body, so ``python -m benchmarks list`` stays fast.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from benchmarks.errors import OncobenchError
from benchmarks.modalities import MODALITIES

# Modules holding builders; imported on first registry access.
_BUILDER_MODULES = ("models.dnn", "models.cnn", "models.hub_transfer", "models.classical")
# Keyword-only builder parameters filled by the harness, never hyper-parameters.
RESERVED = ("seed",)
_POSITIONAL = ("input_shape", "num_classes")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model builder and what it accepts."""

    name: str
    build: Callable[..., Any]
    modalities: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)  # from the builder's signature
    framework: str = "keras"  # the adapter that trains it: "keras" or "sklearn"
    description: str = ""
    takes_seed: bool = False  # the builder declares the reserved ``seed`` parameter
    # Optional second phase: fine_tune(model) unfreezes layers; the Keras adapter then
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

    def create(self, input_shape: tuple[int, ...], num_classes: int, hp: dict[str, Any], *,
               seed: int) -> Any:
        """Call the builder with ``hp``, passing ``seed`` when it declares one."""
        extra = {"seed": seed} if self.takes_seed else {}
        return self.build(input_shape, num_classes, **hp, **extra)


def signature_defaults(name: str, fn: Callable[..., Any]) -> tuple[dict[str, Any], bool]:
    """``(hyper-parameter defaults, takes_seed)`` read from a builder's signature.

    The builder must take exactly ``input_shape, num_classes`` positionally; every other
    parameter is keyword-only with a default (``seed`` may be declared: it is reserved).
    """
    params = list(inspect.signature(fn).parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    where = f"model {name!r} builder {getattr(fn, '__qualname__', fn)!r}"
    if tuple(positional) != _POSITIONAL:
        raise ValueError(f"{where} must take (input_shape, num_classes, *, hparam=default, ...) "
                         f"positionally; it takes ({', '.join(positional)})")
    defaults: dict[str, Any] = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ValueError(f"{where}: *{p.name} / **{p.name} is not allowed; declare each "
                             "hyper-parameter as a keyword-only parameter with a default")
        if p.kind is p.KEYWORD_ONLY and p.name not in RESERVED:
            if p.default is p.empty:
                raise ValueError(f"{where}: hyper-parameter {p.name!r} needs a default")
            defaults[p.name] = p.default
    return defaults, any(p.name == "seed" for p in params)


_REGISTRY: dict[str, ModelSpec] = {}
_loaded = False


def register_model(
    name: str,
    *,
    modalities: tuple[str, ...],
    framework: str = "keras",
    fine_tune: Callable[[Any], None] | None = None,
):
    """Decorator: register ``build(input_shape, num_classes, *, **hparams)`` under ``name``."""
    bad = set(modalities) - set(MODALITIES)
    if bad:
        raise ValueError(f"unknown modalities {bad}; valid: {MODALITIES}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        defaults, takes_seed = signature_defaults(name, fn)
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelSpec(
            name=name,
            build=fn,
            modalities=tuple(modalities),
            defaults=defaults,
            framework=framework,
            takes_seed=takes_seed,
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
