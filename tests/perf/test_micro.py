"""Micro-benchmarks of the models themselves, for pytest-benchmark's own tracking:

    python -m pytest tests/perf/test_micro.py --benchmark-only --benchmark-autosave
    # after a change:
    python -m pytest tests/perf/test_micro.py --benchmark-only \\
        --benchmark-compare --benchmark-compare-fail=mean:5%

One compiled training step (``train_on_batch``) and one inference batch
(``predict_on_batch``) per model, on a fixed batch of real data, after warm-up.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

BATCH = 32
CASES = {
    "dnn-golub": ("dnn", "golub"),
    "dnn-wisconsin": ("dnn", "wisconsin"),
    "cnn-breastmnist": ("cnn", "breastmnist"),
    "mobilenet_v2_hub-breastmnist": ("mobilenet_v2_hub", "breastmnist"),
}


@functools.lru_cache(maxsize=None)
def _model_and_batch(case: str):
    from benchmarks.adapters.keras import compile_model
    from benchmarks.config import get_profile
    from datasets import LoadOptions, get_dataset
    from models import get_model

    model_name, data_name = CASES[case]
    ds = get_dataset(data_name).load(LoadOptions(seed=0))
    spec = get_model(model_name)
    import keras

    keras.utils.set_random_seed(0)
    model = spec.build(ds.input_shape, ds.num_classes, **spec.hparams())
    compile_model(model, ds.num_classes, get_profile("standard"), 1e-3)
    idx = np.arange(BATCH) % len(ds.train)  # golub has 30 training samples: wrap around
    x, y = ds.train.x[idx], ds.train.y[idx]
    for _ in range(3):  # warm-up: trace and compile both steps
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    return model, x, y


@pytest.mark.parametrize("case", list(CASES))
def test_train_step(benchmark, case):
    model, x, y = _model_and_batch(case)
    benchmark.extra_info["samples_per_call"] = BATCH
    loss = benchmark(model.train_on_batch, x, y)
    assert np.isfinite(np.asarray(loss, dtype=float)).all()


@pytest.mark.parametrize("case", list(CASES))
def test_inference_batch(benchmark, case):
    model, x, _ = _model_and_batch(case)
    benchmark.extra_info["samples_per_call"] = BATCH
    out = benchmark(model.predict_on_batch, x)
    assert out.shape[0] == BATCH and np.isfinite(out).all()
