"""What an attribution method sees of a trained model, and of the samples it explains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Explainable:
    """A trained model as attribution methods see it.

    ``predict_proba`` maps inputs shaped like the dataset's ``x`` to (n, num_classes)
    probabilities; ``model`` is the Keras model (gradient methods need it), else None.
    """

    name: str
    framework: str
    num_classes: int
    predict_proba: Callable[[np.ndarray], np.ndarray]
    model: Any = None

    def class_proba(self, x: np.ndarray, cls: np.ndarray) -> np.ndarray:
        """Probability of class ``cls[i]`` for each sample ``x[i]``."""
        p = self.predict_proba(x)
        return p[np.arange(len(x)), np.asarray(cls, dtype=int)]


@dataclass(frozen=True)
class Samples:
    """The samples to explain: inputs, the class explained (the true one), and the baseline
    (what "feature removed" means: one input-shaped array, see ``baselines``)."""

    x: np.ndarray
    y: np.ndarray
    baseline: np.ndarray  # shape of x (one baseline per sample)
    index: np.ndarray  # positions in the test split

    def __len__(self) -> int:
        return int(len(self.y))
