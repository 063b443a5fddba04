"""Run configuration and profiles, as data."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from benchmarks.config.federated import FederatedConfig, validate_federated
from benchmarks.core.errors import OncobenchError
from models.recipe import SCHEDULES


@dataclass(frozen=True)
class RunConfig:
    """Everything that shapes one training run besides the model and dataset."""

    profile: str = "standard"
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"  # adam | rmsprop
    learning_rate: float = 1e-3
    patience: int = 5  # early stopping on val_loss, best weights restored
    # a two-phase model's fine-tuning epochs (None: the model's own fine_tune_epochs; an explicit
    # --hp MODEL.fine_tune_epochs wins over both)
    fine_tune_epochs: int | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    deterministic: bool = False
    precision: str = "float32"  # float32 | mixed_float16 | mixed_bfloat16
    jit_compile: bool = False
    steps_per_execution: int = 1
    latency_calls: int = 50  # timed batch-of-one calls (after warm-up)
    inference_min_time_s: float = 0.3  # time inference for at least this long
    hparams: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> overrides
    schedule: str | None = None  # learning-rate schedule for every model (None: each recipe's)
    recipes: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> recipe overrides
    # "model|dataset" -> {"hparams", "recipe", "learning_rate", "source"} from ``tune``
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)
    target: tuple[str, float] | None = None  # (metric, value): time-to-target
    verbose: int = 0  # Keras progress bar (1 on a terminal)
    federated: FederatedConfig | None = None  # set: train with Flower (benchmarks.federated.adapter)
    strategy: str = "none"  # none | mirrored | multiworker (Keras multi-device training)
    scaling: bool = False  # with a strategy: also time one replica (scaling efficiency)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seeds"] = list(self.seeds)
        d["target"] = list(self.target) if self.target else None
        return d

    @property
    def variant(self) -> str | None:
        """The way of training that is not the plain one, as a key-safe tag (None: centralised)."""
        return self.federated.tag() if self.federated else None

    def with_(self, **changes: Any) -> "RunConfig":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROFILES: dict[str, RunConfig] = {
    # A smoke test: runs every model in seconds; numbers are not for reading.
    "quick": RunConfig(profile="quick", epochs=2, batch_size=64, patience=2, seeds=(0,),
                       latency_calls=10, inference_min_time_s=0.05),
    # The default: 3 seeds, early stopping, numbers worth a table.
    "standard": RunConfig(profile="standard"),
    # Published protocols: MedMNIST v2 trains 100 epochs, Adam lr 1e-3 x0.1 at epochs 50 and 75,
    # batch 128, the model selected on validation (patience = epochs: no early stop, best restored).
    # MedMNIST v2 trains the whole network for all 100 epochs; a two-phase model fine-tunes for
    # 30 (MobileNetV2 on BreastMNIST 64, 3 seeds: 0.844 / AUC 0.870 after 8, 0.861 / 0.896 after
    # 30, about 2-3 min a seed on 2 cores; 100 would not fit 15 min for 3 seeds). A model may
    # declare its own values for a profile beside its builder (register_model(profile_hparams=)):
    # mobilenet_v2_hub takes the alpha 0.5 backbone here (0.904 / 0.918, 461 s for 3 seeds).
    "full": RunConfig(profile="full", epochs=100, batch_size=128, learning_rate=1e-3, patience=100,
                      schedule="step", fine_tune_epochs=30),
    # Every push in CI: small, deterministic quality metrics, 3 seeds.
    "ci": RunConfig(profile="ci", epochs=8, batch_size=64, patience=3, seeds=(0, 1, 2),
                    deterministic=True, latency_calls=20, inference_min_time_s=0.1),
    # Speed only (``ab``): short fixed-length training (patience = epochs: no early stopping),
    # one seed, more latency calls and longer inference timing; quality numbers are not for reading.
    "speed": RunConfig(profile="speed", epochs=5, batch_size=32, patience=5, seeds=(0,),
                       latency_calls=100, inference_min_time_s=0.3),
}

OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("none", "mirrored", "multiworker")


def get_profile(name: str) -> RunConfig:
    try:
        return PROFILES[name]
    except KeyError:
        raise OncobenchError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}") from None


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(config: RunConfig) -> RunConfig:
    """Reject impossible settings with a one-line message naming the flag and the valid range."""
    if config.optimizer not in OPTIMIZERS:
        raise OncobenchError(f"unknown optimizer {config.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    if config.precision not in PRECISIONS:
        raise OncobenchError(f"unknown precision {config.precision!r}; valid: {', '.join(PRECISIONS)}")
    if config.strategy not in STRATEGIES:
        raise OncobenchError(f"--strategy {config.strategy!r}: valid: {', '.join(STRATEGIES)}")
    for name in ("epochs", "batch_size", "steps_per_execution", "latency_calls"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise OncobenchError(f"--{name.replace('_', '-')} {value}: must be an integer of at least 1")
    if isinstance(config.patience, bool) or not isinstance(config.patience, int) or config.patience < 0:
        raise OncobenchError(f"--patience {config.patience}: must be an integer of at least 0")
    ft = config.fine_tune_epochs
    if ft is not None and (isinstance(ft, bool) or not isinstance(ft, int) or ft < 1):
        raise OncobenchError(f"fine_tune_epochs {ft!r}: must be an integer of at least 1")
    # lr 0 is allowed: an untrained model is a deliberate control (tests/test_compare.py uses it)
    if not _finite(config.learning_rate) or config.learning_rate < 0:
        raise OncobenchError(f"--lr {config.learning_rate}: must be a finite number >= 0, e.g. 1e-3")
    if not _finite(config.inference_min_time_s) or config.inference_min_time_s < 0:
        raise OncobenchError(f"inference_min_time_s {config.inference_min_time_s}: must be finite and >= 0")
    if not config.seeds:
        raise OncobenchError("--seeds needs at least one seed, e.g. --seeds 0,1,2")
    bad = [s for s in config.seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad:
        raise OncobenchError(f"--seeds {bad[0]}: seeds must be integers >= 0, e.g. --seeds 0,1,2")
    if len(set(config.seeds)) != len(config.seeds):
        dup = next(s for s in config.seeds if config.seeds.count(s) > 1)
        raise OncobenchError(f"--seeds: seed {dup} is listed twice; list each seed once, e.g. --seeds 0,1,2")
    if config.target is not None and not _finite(config.target[1]):
        raise OncobenchError(f"--target {config.target[0]}={config.target[1]}: the value must be a "
                             "finite number, e.g. val_accuracy=0.85")
    if config.schedule is not None and config.schedule not in SCHEDULES:
        raise OncobenchError(f"unknown schedule {config.schedule!r}; valid: {', '.join(SCHEDULES)}")
    if config.federated is not None:
        validate_federated(config.federated)
        if config.precision != "float32":
            raise OncobenchError(f"--precision {config.precision}: federated training runs in float32; "
                                 "drop --precision")
    return config


def for_pair(config: RunConfig, model: str, dataset: str) -> tuple[RunConfig, dict[str, Any] | None]:
    """The config one (model, dataset) pair runs with: tuned values (``run --tuned``) applied.

    Returns the config and the tuned entry (None when the pair has none).
    """
    tuned = config.tuned.get(f"{model}|{dataset}")
    if not tuned:
        return config, None
    hparams = {**config.hparams, model: {**config.hparams.get(model, {}), **tuned.get("hparams", {})}}
    recipes = {**config.recipes, model: {**config.recipes.get(model, {}), **tuned.get("recipe", {})}}
    return config.with_(hparams=hparams, recipes=recipes, learning_rate=tuned.get("learning_rate")), tuned
