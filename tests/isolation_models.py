"""Test plugin: scikit-learn models that abort the process, hang, or hold a lot of memory
(imported by name in each job's fresh process, as a plugin)."""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.core.modalities import MODALITIES as ALL_MODALITIES
from models import registry
from models.registry import register_model

HOG_MB = 400


def _logreg(seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500, random_state=seed)


@register_model("abort_model", modalities=ALL_MODALITIES, framework="sklearn")
def build_abort(input_shape: tuple[int, ...], num_classes: int, *, seed: int = 0):
    """Kills its process with SIGABRT, like a native library's assertion."""
    os.abort()


@register_model("sleepy", modalities=ALL_MODALITIES, framework="sklearn")
def build_sleepy(input_shape: tuple[int, ...], num_classes: int, *, seconds: float = 600.0, seed: int = 0):
    """Hangs for ``seconds`` before building (a run that exceeds --run-timeout); writes its process
    id to $SLEEPY_PID_FILE first when that is set."""
    if os.environ.get("SLEEPY_PID_FILE"):
        with open(os.environ["SLEEPY_PID_FILE"], "w") as fh:
            fh.write(str(os.getpid()))
    time.sleep(seconds)
    return _logreg(seed)


@register_model("hog", modalities=ALL_MODALITIES, framework="sklearn")
def build_hog(input_shape: tuple[int, ...], num_classes: int, *, mb: int = HOG_MB, seed: int = 0):
    """Touches ``mb`` MiB of memory, then builds a logistic regression."""
    block = np.ones(mb * 2**20 // 8)
    block.sum()
    return _logreg(seed)


NAMES = ("abort_model", "sleepy", "hog")
_SPECS = {name: registry._REGISTRY[name] for name in NAMES}


def register_for_test(monkeypatch) -> None:
    """Keep these models registered in the test process only until the test ends (each job's
    fresh process imports this module as a plugin and registers them itself)."""
    for name in NAMES:
        registry._REGISTRY.pop(name, None)
        monkeypatch.setitem(registry._REGISTRY, name, _SPECS[name])
