"""Test set-up: a private cache (exported hub models, downloads) and quiet TensorFlow."""

from __future__ import annotations

import gc
import os
import tempfile

import pytest

os.environ.setdefault("ONCOBENCH_CACHE", tempfile.mkdtemp(prefix="oncobench-test-cache-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_collection_finish(session):
    """What collection imported (TensorFlow, Keras, ... : modules that live as long as the
    process) leaves the garbage collector's view, so a full collection during a test scans only
    what the tests made since."""
    gc.collect()
    gc.freeze()


@pytest.fixture()
def isolated(monkeypatch):
    """The model and dataset registries and the plugin cache restored after the test (a test may
    register plugins freely)."""
    from benchmarks.core import plugins
    from datasets import registry as dreg
    from models import registry as mreg

    mreg.list_models(), dreg.list_datasets()
    monkeypatch.setattr(mreg, "_REGISTRY", dict(mreg._REGISTRY))
    monkeypatch.setattr(dreg, "_REGISTRY", dict(dreg._REGISTRY))
    monkeypatch.setattr(plugins, "_loaded", {})
