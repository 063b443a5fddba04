"""Training recipes and search spaces: how a model is trained, declared next to its builder.

A ``Recipe`` holds the training choices that are not layers (schedule, weight decay, label
smoothing, class weighting, the early-stopping monitor); ``sources`` says where each choice
comes from. A profile may override the schedule (``full`` uses the published step schedule),
``--recipe MODEL.KEY=VALUE`` and ``run --tuned`` override single fields.

A ``SearchSpace`` lists what ``tune`` may vary: builder hyper-parameters and the training
keys in ``TRAINING_KEYS``. Nothing here imports a framework.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from benchmarks.core.errors import OncobenchError

SCHEDULES = ("constant", "cosine", "step")
CLASS_WEIGHTS = ("none", "balanced", "sqrt")
MONITORS = ("val_loss", "val_auc", "none", "auto")
KEEP_EPOCHS = ("best", "last")
# Training keys ``tune`` may search besides builder hyper-parameters (recipe fields + the lr).
TRAINING_KEYS = ("learning_rate", "weight_decay", "label_smoothing", "class_weight", "select_features")


@dataclass(frozen=True)
class Recipe:
    """How a Keras model trains; every field has a documented source in ``sources``."""

    schedule: str = "constant"  # constant | cosine (after linear warm-up) | step (x0.1 at 50%, 75%)
    warmup_epochs: int = 0
    weight_decay: float = 0.0  # decoupled (AdamW), not an L2 loss term
    label_smoothing: float = 0.0  # binary tasks (sigmoid head) only
    class_weight: str = "none"  # none | balanced (n / (k n_c)) | sqrt (its square root)
    # early stopping and model selection: val_loss | val_auc | none (train the whole schedule) |
    # auto: binary_monitor for a binary task, val_loss otherwise; none when the val split is tiny.
    # With none the validation samples join the training data (the test split never does).
    monitor: str = "val_loss"
    min_val_for_auc: int = 40  # "auto": select on validation only with at least this many samples
    binary_monitor: str = "val_auc"  # what "auto" selects on for a binary task: val_auc | val_loss
    # False: train every epoch of each phase and keep the best by the monitor (patience = epochs);
    # True: stop after the profile's --patience epochs without improvement
    early_stopping: bool = True
    # which epoch of each phase the model keeps: "best" by the monitor, or "last" (every epoch
    # trains, needs early_stopping=False; validation is still held out, scored and logged)
    keep_epoch: str = "best"
    select_features: int = 0  # flat features only: keep the k best by ANOVA F on train (0: all)
    # compute a frozen, deterministic prefix of the network once per split and train the layers
    # above it on its outputs (benchmarks.adapters.feature_cache); False: through the prefix
    feature_cache: bool = True
    # p >> n only: candidate values chosen by inner cross-validation on the training split
    # (benchmarks.adapters.inner_cv): "select_features" and builder hyper-parameters ({}: none)
    inner_cv: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def with_(self, **changes: Any) -> "Recipe":
        """A copy with ``changes`` checked (unknown fields and bad values are one-line errors)."""
        known = {f.name for f in fields(self)} - {"sources"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise OncobenchError(f"recipe has no field {', '.join(unknown)}; "
                                 f"valid: {', '.join(sorted(known))}")
        return check(replace(self, **changes))

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}


def check(recipe: Recipe) -> Recipe:
    """``recipe`` when every field is valid, else a one-line error naming the field."""
    for name, value, valid in (("schedule", recipe.schedule, SCHEDULES),
                               ("class_weight", recipe.class_weight, CLASS_WEIGHTS),
                               ("monitor", recipe.monitor, MONITORS),
                               ("binary_monitor", recipe.binary_monitor, ("val_auc", "val_loss")),
                               ("keep_epoch", recipe.keep_epoch, KEEP_EPOCHS)):
        if value not in valid:
            raise OncobenchError(f"recipe {name} {value!r}; valid: {', '.join(valid)}")
    for name in ("weight_decay", "label_smoothing"):
        value = getattr(recipe, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise OncobenchError(f"recipe {name} {value!r}: must be a finite number >= 0")
    if recipe.label_smoothing >= 0.5:
        raise OncobenchError(f"recipe label_smoothing {recipe.label_smoothing}: must be below 0.5")
    if not isinstance(recipe.inner_cv, dict) or not all(
            isinstance(v, (tuple, list)) and v for v in recipe.inner_cv.values()):
        raise OncobenchError(f"recipe inner_cv {recipe.inner_cv!r}: must be a dict of non-empty value "
                             "lists, e.g. {'select_features': (50, 200)}")
    for name in ("feature_cache", "early_stopping"):
        if not isinstance(getattr(recipe, name), bool):
            raise OncobenchError(f"recipe {name} {getattr(recipe, name)!r}: must be true or false")
    if recipe.keep_epoch == "last" and recipe.early_stopping:
        raise OncobenchError("recipe keep_epoch 'last' trains every epoch: set early_stopping=false too")
    for name in ("warmup_epochs", "min_val_for_auc", "select_features"):
        value = getattr(recipe, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OncobenchError(f"recipe {name} {value!r}: must be an integer >= 0")
    return recipe


@dataclass(frozen=True)
class Param:
    """One searched parameter: ``float``/``int`` in [low, high] (``log`` scale) or a ``choice``."""

    kind: str  # "float" | "int" | "choice"
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    choices: tuple[Any, ...] = ()


def floats(low: float, high: float, *, log: bool = False) -> Param:
    return Param("float", low, high, log)


def ints(low: int, high: int, *, log: bool = False) -> Param:
    return Param("int", low, high, log)


def choice(*options: Any) -> Param:
    return Param("choice", choices=tuple(options))


SearchSpace = dict[str, Param]
