"""Run configuration and profiles, as data."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

from benchmarks.config.constants import JIT_COMPILE, OPTIMIZERS, PRECISIONS, STRATEGIES
from benchmarks.config.federated import FederatedConfig, validate_federated
from benchmarks.core.errors import OncobenchError, quote
from benchmarks.core.profiles import PROFILE_NAMES
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
    jit_compile: bool | str = False  # True | False | "auto" (Keras decides)
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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        """The inverse of ``as_dict`` (a job's config after a JSON round trip)."""
        d = dict(d)
        d["seeds"] = tuple(d.get("seeds") or ())
        d["target"] = tuple(d["target"]) if d.get("target") else None
        if isinstance(d.get("federated"), dict):  # a way to train other than centralised
            d["federated"] = FederatedConfig(**d["federated"])
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

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
    # mobilenet_v2_hub: the alpha 0.5 backbone, blocks 3-16 fine-tuned (see models/hub_transfer.py).
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

assert tuple(PROFILES) == PROFILE_NAMES, "benchmarks.core.profiles.PROFILE_NAMES names every profile"



def get_profile(name: str) -> RunConfig:
    try:
        return PROFILES[name]
    except KeyError:
        raise OncobenchError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}") from None


def _finite(value: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's seeds are 32-bit


def check_seed(seed: Any, flag: str = "--seeds") -> int:
    """``seed`` if it is an integer in 0 .. 2^32-1, else a one-line error naming ``flag``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise OncobenchError(f"{flag} {quote(seed)}: a seed must be an integer from 0 to {MAX_SEED} "
                             "(2^32 - 1), e.g. 0")
    return seed


def check_learning_rate(value: Any, flag: str = "--lr") -> None:
    """A learning rate is a finite number >= 0 (None: unset). 0 is allowed: an untrained model
    is a deliberate control (tests/test_compare.py uses it)."""
    if value is not None and (not _finite(value) or value < 0):
        raise OncobenchError(f"{flag} {quote(value)}: must be a finite number >= 0, e.g. 1e-3")


TUNED_KEYS = ("hparams", "recipe", "learning_rate", "source")


def check_tuned(where: str, value: Any) -> dict[str, dict[str, Any]]:
    """Tuned values (``run --tuned`` / a suite's ``[tuned]``) in their one shape: ``"MODEL|DATASET"``
    -> a table of ``hparams`` (table), ``recipe`` (table), ``learning_rate`` (number), ``source``.
    Lists in ``hparams`` become tuples. Values are checked against each model by ``check_models``."""
    if not isinstance(value, Mapping):
        raise OncobenchError(f"{where}: expected one table per \"MODEL|DATASET\" pair, "
                             f"got {type(value).__name__}")
    out = {}
    for key, entry in value.items():
        model, bar, dataset = str(key).partition("|")
        if not (isinstance(key, str) and bar and model and dataset) or not isinstance(entry, Mapping):
            raise OncobenchError(f"{where} {quote(key)}: expected a table keyed \"MODEL|DATASET\" with "
                                 f"{', '.join(TUNED_KEYS)}, got {type(entry).__name__}")
        unknown = [k for k in entry if k not in TUNED_KEYS and k not in TUNED_EXTRA]
        if unknown:
            raise OncobenchError(f"{where} {key!r}: unknown key {quote(unknown[0])}; valid: "
                                 f"{', '.join(TUNED_KEYS)}")
        for sub in ("hparams", "recipe"):
            if not isinstance(entry.get(sub) or {}, Mapping):
                raise OncobenchError(f"{where} {key!r}.{sub}: expected a table of NAME = VALUE, got "
                                     f"{type(entry[sub]).__name__}")
        lr = entry.get("learning_rate")
        check_learning_rate(lr, f"{where} {key!r}: learning_rate")
        source = entry.get("source")
        if source is not None and not isinstance(source, str):
            raise OncobenchError(f"{where} {key!r}.source = {quote(source)}: expected a file name")
        hp = {str(k): tuple(v) if isinstance(v, list) else v for k, v in (entry.get("hparams") or {}).items()}
        out[key] = {"hparams": hp, "recipe": dict(entry.get("recipe") or {}), "learning_rate": lr,
                    "source": source}
    return out


# keys ``tune`` writes beside the tuned values (informational; not applied)
TUNED_EXTRA = ("best_value", "default_value", "trials", "elapsed_s")


def check_models(config: RunConfig) -> None:
    """Every model-specific value of ``config`` against the model registry (after plugins are
    loaded): ``hparams`` and ``recipes`` per model, and each tuned entry's hyper-parameters and
    recipe; an unknown model, hyper-parameter or field, or a value out of range, is one line."""
    from models.registry import get_model

    for name, overrides in config.hparams.items():
        get_model(name).hparams(overrides)
    for name, overrides in config.recipes.items():
        get_model(name).recipe_for(overrides)
    for key, entry in config.tuned.items():
        model = key.partition("|")[0]
        where = f"{entry.get('source') or 'tuned'} {key!r}"
        try:
            spec = get_model(model)
            spec.hparams(entry.get("hparams") or {})
            spec.recipe_for(entry.get("recipe") or {})
        except OncobenchError as exc:
            raise OncobenchError(f"{where}: {exc}") from None


def check_tf_config(text: str | None = None) -> dict[str, Any]:
    """``TF_CONFIG`` (``--strategy multiworker``) as JSON: {"cluster": {"worker": [HOST:PORT, ...]},
    "task": {"type": "worker", "index": I}}, checked before TensorFlow starts; one line if not."""
    import json
    import os

    text = os.environ.get("TF_CONFIG") if text is None else text
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not text:
        raise OncobenchError(f"--strategy multiworker needs TF_CONFIG (the cluster and this worker's task), "
                             f"{example}")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise OncobenchError(f"TF_CONFIG is not valid JSON ({exc}); {example}") from None
    cluster = doc.get("cluster") if isinstance(doc, dict) else None
    task = doc.get("task") if isinstance(doc, dict) else None
    if not (isinstance(cluster, dict) and cluster and all(
            isinstance(v, list) and v and all(isinstance(w, str) and ":" in w for w in v)
            for v in cluster.values())):
        raise OncobenchError(f"TF_CONFIG: cluster must map each job (worker, chief) to a list of HOST:PORT; "
                             f"{example}")
    jobs = cluster.get(task.get("type")) if isinstance(task, dict) else None
    index = task.get("index") if isinstance(task, dict) else None
    if not (jobs and isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(jobs)):
        raise OncobenchError("TF_CONFIG: task must name this process, {\"type\": JOB, \"index\": I} "
                             f"with JOB one of {', '.join(map(str, cluster))} and I within its list; "
                             f"{example}")
    return doc


def validate(config: RunConfig) -> RunConfig:
    """Reject impossible settings with a one-line message naming the flag and the valid range."""
    if config.optimizer not in OPTIMIZERS:
        raise OncobenchError(f"unknown optimizer {config.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    if config.precision not in PRECISIONS:
        raise OncobenchError(f"unknown precision {config.precision!r}; valid: {', '.join(PRECISIONS)}")
    if not any(config.jit_compile is v or config.jit_compile == v == "auto" for v in JIT_COMPILE):
        raise OncobenchError(f"--jit-compile {config.jit_compile!r}: valid: on, off, auto")
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
    check_learning_rate(config.learning_rate)
    if not _finite(config.inference_min_time_s) or config.inference_min_time_s < 0:
        raise OncobenchError(f"inference_min_time_s {config.inference_min_time_s}: must be finite and >= 0")
    if config.strategy == "multiworker":
        check_tf_config()
    if config.scaling and config.strategy == "none":
        raise OncobenchError("--scaling times one replica against a multi-device strategy; add "
                             "--strategy mirrored (or multiworker), or drop --scaling")
    if not config.seeds:
        raise OncobenchError("--seeds needs at least one seed, e.g. --seeds 0,1,2")
    for seed in config.seeds:
        check_seed(seed)
    if len(set(config.seeds)) != len(config.seeds):
        dup = next(s for s in config.seeds if config.seeds.count(s) > 1)
        raise OncobenchError(f"--seeds: seed {dup} is listed twice; list each seed once, e.g. --seeds 0,1,2")
    if config.target is not None and not _finite(config.target[1]):
        raise OncobenchError(f"--target {config.target[0]}={config.target[1]}: the value must be a "
                             "finite number, e.g. val_accuracy=0.85")
    if config.schedule is not None and config.schedule not in SCHEDULES:
        raise OncobenchError(f"unknown schedule {config.schedule!r}; valid: {', '.join(SCHEDULES)}")
    check_tuned("tuned", config.tuned)
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
