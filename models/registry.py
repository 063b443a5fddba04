"""Model registry: ``@register_model`` records a builder and its modalities.

A builder is ``build(input_shape, num_classes, *, hp1=default1, ...)``: its keyword-only
parameters with defaults are the model's hyper-parameters, read once from the signature
(``inspect.signature``), so defaults are written in one place. ``seed`` is reserved: a
builder that declares it receives the run's seed and it is not a hyper-parameter.

Overrides are checked against the signature: the type from the annotation (or the
default's type) and, where the builder declares one, a ``Range`` (``ranges={...}`` of
``@register_model``).

Importing this module (and the builder modules) never imports TensorFlow: builders
import Keras inside their body, so ``python -m benchmarks list`` stays fast.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from benchmarks.core.errors import OncobenchError, quote
from benchmarks.core.modalities import MODALITIES
from benchmarks.core.plugins import (
    BUILTIN,
    MODEL_GROUP,
    current_origin,
    load_builtins,
)
from benchmarks.core.profiles import PROFILE_NAMES
from models.recipe import TRAINING_KEYS, Recipe, SearchSpace

# Modules holding builders; imported on first registry access. Models from other packages
# register with the same decorator: entry points of MODEL_GROUP, or --plugin (benchmarks.core.plugins).
_BUILDER_MODULES = ("models.dnn", "models.cnn", "models.hub_transfer", "models.classical", "models.fusion")
# Keyword-only builder parameters filled by the harness, never hyper-parameters.
RESERVED = ("seed",)
_POSITIONAL = ("input_shape", "num_classes")


@dataclass(frozen=True)
class Range:
    """Valid values of a numeric hyper-parameter: ``low <(=) value <(=) high``."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self, name: str) -> str:
        parts = []
        if self.low > -math.inf:
            parts.append(f"{self.low:g} {'<' if self.low_open else '<='} ")
        parts.append(name)
        if self.high < math.inf:
            parts.append(f" {'<' if self.high_open else '<='} {self.high:g}")
        return "".join(parts)


# Hyper-parameter value kinds: a scalar type, or ("tuple", element kind).
_SCALARS = (bool, int, float, str)


def _kinds(annotation: Any, default: Any) -> list[Any]:
    """The accepted kinds of a hyper-parameter: from its annotation, else its default's type."""
    if annotation is inspect.Parameter.empty or annotation is None:
        return [type(default)] if default is not None else []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0], default)
    if origin in (typing.Union, types.UnionType):
        return [k for a in typing.get_args(annotation) for k in _kinds(a, default)]
    if origin is tuple or annotation is tuple:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return [("tuple", args[0] if args else None)]
    if annotation is type(None):
        return [type(None)]
    return [annotation] if annotation in _SCALARS else []


def _matches(value: Any, kind: Any) -> bool:
    if isinstance(kind, tuple):
        return isinstance(value, (tuple, list)) and all(
            kind[1] is None or _matches(v, kind[1]) for v in value)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))
    return isinstance(value, kind)


def _kind_name(kind: Any) -> str:
    if isinstance(kind, tuple):
        return f"a tuple of {_kind_name(kind[1])}" if kind[1] else "a tuple"
    return {bool: "True/False", int: "an integer", float: "a finite number", str: "a string",
            type(None): "None"}.get(kind, getattr(kind, "__name__", str(kind)))


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
    kinds: dict[str, list[Any]] = field(default_factory=dict)  # hp -> accepted value kinds
    ranges: dict[str, Range] = field(default_factory=dict)  # hp -> declared valid range
    # hp -> a check beyond type and range (a handle that must exist, say): raises OncobenchError
    checks: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    origin: str = BUILTIN  # where it was registered from: oncobench, a plugin, an entry point
    recipe: Recipe = field(default_factory=Recipe)  # how the Keras adapter trains it
    search_space: SearchSpace = field(default_factory=dict)  # what ``tune`` may vary
    # profile -> hyper-parameters that replace the builder's defaults under that profile (a
    # larger backbone under ``full``, say); an explicit ``--hp`` still wins.
    profile_hparams: dict[str, dict[str, Any]] = field(default_factory=dict)

    def recipe_for(self, overrides: dict[str, Any] | None = None) -> Recipe:
        """The model's recipe with ``overrides`` (``--recipe``/tuned values) applied; recipes
        drive Keras training only, so overriding another framework's is a one-line error."""
        if overrides and self.framework != "keras":
            key = next(iter(overrides))
            raise OncobenchError(f"--recipe {self.name}.{key}: {self.name} is a {self.framework} model and "
                                 "recipes apply to Keras models only; set its hyper-parameters with "
                                 f"--hp {self.name}.KEY=VALUE")
        try:
            return self.recipe.with_(**overrides) if overrides else self.recipe
        except OncobenchError as exc:  # several models may be overridden at once: say which
            raise OncobenchError(f"{self.name}'s {exc}") from None

    def check_value(self, key: str, value: Any) -> Any:
        """``value`` if it fits hyper-parameter ``key``'s type and range, else a one-line error."""
        flag = f"--hp {self.name}.{key}={quote(value)}"
        kinds = self.kinds.get(key) or []
        if kinds and not any(_matches(value, k) for k in kinds):
            want = " or ".join(_kind_name(k) for k in kinds)
            raise OncobenchError(f"{flag}: expected {want}, e.g. --hp {self.name}.{key}="
                                 f"{self.defaults[key]!r}")
        rng = self.ranges.get(key)
        if rng is not None and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and value not in rng:
            raise OncobenchError(f"{flag}: out of range; valid: {rng.describe(key)}")
        if key in self.checks:
            self.checks[key](value)
        if isinstance(value, list):
            value = tuple(value)
        return value

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
        return {**self.defaults, **{k: self.check_value(k, v) for k, v in overrides.items()}}

    def create(self, input_shape: tuple[int, ...], num_classes: int, hp: dict[str, Any], *,
               seed: int) -> Any:
        """Call the builder with ``hp``, passing ``seed`` when it declares one."""
        extra = {"seed": seed} if self.takes_seed else {}
        built = self.build(input_shape, num_classes, **hp, **extra)
        problem = self.built_problem(built, num_classes)
        if problem:
            raise OncobenchError(f"model {self.name!r} ({self.origin}): its builder {problem}; fix the "
                                 "builder")
        return built

    def built_problem(self, built: Any, num_classes: int) -> str | None:
        """Why ``built`` is not what this model's framework trains (None when it is): a Keras model
        whose output gives one unit per class (one sigmoid unit for two), or a scikit-learn
        estimator with ``fit`` and ``predict``."""
        if self.framework == "sklearn":
            if not (callable(getattr(built, "fit", None)) and callable(getattr(built, "predict", None))):
                return f"returned {type(built).__name__}, not a scikit-learn estimator (fit/predict)"
            return None
        import keras

        if not isinstance(built, keras.Model):
            return f"returned {type(built).__name__}, not a keras.Model"
        try:
            units = built.outputs[0].shape[-1] if len(built.outputs) == 1 else None
        except (AttributeError, ValueError, TypeError):  # a subclassed model not built yet
            return None
        want = (1, 2) if num_classes == 2 else (num_classes,)
        if units is not None and units not in want:
            return (f"output has {units} unit(s) for {num_classes} classes; end with "
                    "models.heads.classifier_output(x, num_classes)")
        return None


def signature_kinds(fn: Callable[..., Any], defaults: dict[str, Any]) -> dict[str, list[Any]]:
    """hp -> accepted value kinds, from the builder's annotations (or the defaults' types)."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError):
        hints = {}
    return {k: _kinds(hints.get(k, inspect.Parameter.empty), d) for k, d in defaults.items()}


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
    ranges: dict[str, Range] | None = None,
    recipe: Recipe | None = None,
    search_space: SearchSpace | None = None,
    profile_hparams: dict[str, dict[str, Any]] | None = None,
    checks: dict[str, Callable[[Any], None]] | None = None,
):
    """Decorator: register ``build(input_shape, num_classes, *, **hparams)`` under ``name``.

    ``ranges``: hyper-parameter -> ``Range`` of valid values, checked on every override.
    ``recipe``: how it trains (``models.recipe.Recipe``); ``search_space``: what ``tune``
    varies, builder hyper-parameters or ``models.recipe.TRAINING_KEYS``; ``profile_hparams``:
    profile -> hyper-parameters that replace the defaults under it (``--hp`` still wins);
    ``checks``: hyper-parameter -> a function that raises ``OncobenchError`` for a bad value (run
    on every override before anything trains, after the type and range checks).
    """
    bad = set(modalities) - set(MODALITIES)
    if bad:
        raise ValueError(f"unknown modalities {bad}; valid: {MODALITIES}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        origin = current_origin(getattr(fn, "__module__", None))
        if origin != BUILTIN:
            _ensure_loaded()  # built-ins first, so a duplicate name is blamed on the plugin
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice (first by {_REGISTRY[name].origin})")
        defaults, takes_seed = signature_defaults(name, fn)
        unknown = sorted((set(ranges or {}) | set(checks or {})) - set(defaults))
        if unknown:
            raise ValueError(f"model {name!r}: ranges/checks for unknown hyper-parameters {unknown}")
        unknown = sorted(set(search_space or {}) - set(defaults) - set(TRAINING_KEYS))
        if unknown:
            raise ValueError(f"model {name!r}: search space names unknown parameters {unknown}")
        bad_profiles = sorted(set(profile_hparams or {}) - set(PROFILE_NAMES))
        if bad_profiles:
            raise ValueError(f"model {name!r}: profile_hparams for unknown profiles {bad_profiles}; "
                             f"valid: {', '.join(PROFILE_NAMES)}")
        for profile, values in (profile_hparams or {}).items():
            unknown = sorted(set(values) - set(defaults))
            if unknown:
                raise ValueError(f"model {name!r}: profile_hparams[{profile!r}] names unknown "
                                 f"hyper-parameters {unknown}")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelSpec(
            name=name,
            build=fn,
            modalities=tuple(modalities),
            defaults=defaults,
            framework=framework,
            takes_seed=takes_seed,
            fine_tune=fine_tune,
            kinds=signature_kinds(fn, defaults),
            ranges=dict(ranges or {}),
            checks=dict(checks or {}),
            recipe=recipe or Recipe(),
            search_space=dict(search_space or {}),
            profile_hparams={k: dict(v) for k, v in (profile_hparams or {}).items()},
            description=doc[0] if doc else "",
            origin=origin,
        )
        return fn

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        load_builtins(_BUILDER_MODULES, MODEL_GROUP)


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
