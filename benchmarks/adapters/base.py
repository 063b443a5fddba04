"""What every framework adapter takes and returns (no framework imported here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from benchmarks.config import RunConfig
    from datasets.base import Dataset
    from models.recipe import Recipe
    from models.registry import ModelSpec


@dataclass(frozen=True)
class RunContext:
    """Per-run facts an adapter may use: where to write, the record key, extra callbacks."""

    run_dir: Path
    key: str
    callbacks: list[Any] = field(default_factory=list)  # framework-specific hooks (Keras callbacks)


@dataclass(frozen=True)
class AdapterResult:
    """Test-set outputs and the cost fields of the record.

    ``proba``: (n_test, num_classes) class probabilities, or one sigmoid column for a binary
    task (the harness turns it into two with ``benchmarks.metrics.probabilities``).
    ``val_proba``: the same on the validation split when it was held out of training (for the
    validation-chosen operating threshold), else None.
    """

    proba: np.ndarray
    cost: dict[str, Any]
    val_proba: np.ndarray | None = None


class Adapter(Protocol):
    """Trains, predicts and measures one model of one framework."""

    def run(self, spec: ModelSpec, dataset: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:
        """Build ``spec`` with ``hp``, fit on the train (and val) split, predict the test split."""
        ...


def resolve_recipe(spec: ModelSpec, config: RunConfig) -> Recipe:
    """The recipe a run trains with: the model's, ``config.recipes`` overrides, then the
    profile's schedule (``full``: the published step schedule for every model)."""
    recipe = spec.recipe_for(config.recipes.get(spec.name))
    return recipe.with_(schedule=config.schedule) if config.schedule else recipe


def resolve_hparams(spec: ModelSpec, config: RunConfig) -> dict[str, Any]:
    """The hyper-parameters a run builds and trains with: the builder's defaults; the profile's
    ``fine_tune_epochs`` (``full``: 30) for a two-phase model; the model's own values for the
    profile (``register_model(profile_hparams=...)``); then ``config.hparams`` (``--hp``, tuned)."""
    given = config.hparams.get(spec.name) or {}
    profile = spec.profile_hparams.get(config.profile) or {}
    chosen = {**profile, **given}
    hp = spec.hparams(chosen)
    if config.fine_tune_epochs and "fine_tune_epochs" in hp and "fine_tune_epochs" not in chosen:
        hp["fine_tune_epochs"] = config.fine_tune_epochs
    return hp
