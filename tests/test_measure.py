"""Measurement protocol: steady throughput, timed calls, latency percentiles, time-to-target,
FLOPs per sample, threads and the environment facts."""

from __future__ import annotations

import time

import numpy as np
import pytest

from benchmarks import measure

ENV_KEYS = ("device_kind", "device_name", "gpus", "tensorflow", "keras", "python", "platform", "cpu_model",
            "cpu_count", "intra_op_threads", "inter_op_threads", "git_commit", "hostname")


def test_steady_throughput_excludes_first_epoch():
    # the first epoch (tracing) takes 10 s; steady epochs 2 s each for 100 samples
    out = measure.steady_throughput([10.0, 2.0, 2.0], [5, 5, 5], 100)
    assert out == {"train_samples_per_s": pytest.approx(50.0), "train_steps_measured": 10, "steady": True}
    single = measure.steady_throughput([4.0], [7], 100)
    assert single == {"train_samples_per_s": pytest.approx(25.0), "train_steps_measured": 7, "steady": False}
    empty = measure.steady_throughput([], [], 100)
    assert empty["train_samples_per_s"] is None and empty["steady"] is False
    assert measure.steady_throughput([1.0, 0.0], [3, 3], 100)["train_samples_per_s"] is None


def test_time_calls_respects_warmup_and_minimum_calls():
    calls: list[int] = []
    times = measure.time_calls(lambda: calls.append(1), warmup=3, min_calls=7, min_time_s=0.0)
    assert len(times) == 7 and len(calls) == 10 and all(t >= 0 for t in times)


def test_time_calls_runs_for_the_minimum_time():
    start = time.perf_counter()
    times = measure.time_calls(lambda: time.sleep(0.005), warmup=0, min_calls=1, min_time_s=0.06)
    assert time.perf_counter() - start >= 0.06
    assert len(times) >= 2 and sum(times) >= 0.05 and min(times) >= 0.005


def test_latency_percentiles_are_ordered():
    rng = np.random.default_rng(0)
    delays = iter(rng.uniform(0.0005, 0.004, 1000))
    seen: list[int] = []

    def predict(x: np.ndarray) -> np.ndarray:
        seen.append(len(x))
        time.sleep(next(delays))
        return x

    out = measure.latency_ms(predict, np.zeros((1, 3), "float32"), calls=30)
    assert set(out) == {"latency_ms_p50", "latency_ms_p95", "latency_ms_p99"}
    assert 0.5 <= out["latency_ms_p50"] <= out["latency_ms_p95"] <= out["latency_ms_p99"]
    assert len(seen) == 5 + 30 and set(seen) == {1}  # warm-up calls, then batch-of-one timed calls


def test_inference_throughput_tiles_small_inputs_to_one_batch():
    sizes: list[int] = []

    def predict(x: np.ndarray) -> np.ndarray:
        sizes.append(len(x))
        time.sleep(0.002)
        return x

    thr = measure.inference_throughput(predict, np.zeros((5, 2)), batch_size=16, min_time_s=0.02)
    assert set(sizes) == {16} and len(sizes) >= 2 + 5
    assert 0 < thr <= 16 / 0.002


def test_time_to_target_logic():
    cb = measure.make_timing_callback(("val_accuracy", 0.85))
    cb.on_train_begin()
    for epoch, acc in enumerate([0.5, 0.8, 0.85, 0.95]):
        cb.on_epoch_begin(epoch)
        for step in range(4):
            cb.on_train_batch_end(step)
        cb.on_epoch_end(epoch, {"val_accuracy": acc, "val_loss": 1 - acc})
    assert cb.epoch_to_target == 3 and cb.time_to_target_s > 0  # first reached (>=) at epoch 3
    assert cb.epoch_steps == [4, 4, 4, 4] and len(cb.epoch_times) == 4
    low = measure.make_timing_callback(("val_loss", 0.4))  # losses: lower is better
    low.on_train_begin()
    for epoch, loss in enumerate([0.6, 0.45, 0.3]):
        low.on_epoch_begin(epoch)
        low.on_epoch_end(epoch, {"val_loss": loss})
    assert low.epoch_to_target == 3


@pytest.fixture(scope="module")
def tiny_fit():
    """A tiny Keras model and data; returns fit(callback) -> History."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def fit(callback):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(x, y, validation_data=(x, y), epochs=3, batch_size=16, verbose=0,
                         callbacks=[callback])

    return fit


@pytest.mark.parametrize("target,epoch", [
    (("val_accuracy", 0.0), 1), (("val_loss", 1e9), 1),  # reached at once
    (("val_accuracy", 1.01), None), (("val_loss", -1.0), None),  # never reached
    (("val_auc", 0.5), None),  # a metric the model does not log is never reached
])
def test_timing_callback_on_a_real_fit(tiny_fit, target, epoch):
    cb = measure.make_timing_callback(target)
    t0 = time.perf_counter()
    hist = tiny_fit(cb)
    total = time.perf_counter() - t0
    assert cb.epoch_steps == [4, 4, 4] and len(cb.epoch_times) == 3
    assert all(0 < t < total for t in cb.epoch_times)
    assert cb.epoch_to_target == epoch
    if epoch is None:
        assert cb.time_to_target_s is None
    else:
        assert 0 < cb.time_to_target_s < total and len(hist.history["loss"]) == 3


def _dense_flops(sizes: list[int], softmax: bool) -> int:
    """What TF's profiler counts: MatMul 2*in*out, BiasAdd out, ReLU/sigmoid 0, Softmax 5*out."""
    flops = sum(2 * a * b + b for a, b in zip(sizes, sizes[1:]))
    return flops + (5 * sizes[-1] if softmax else 0)


def test_flops_per_sample_dense_by_hand():
    import keras

    from benchmarks.measure.flops import flops_per_sample

    def dense(activation, bias=True):
        layer = keras.layers.Dense(3, activation=activation, use_bias=bias)
        return keras.Sequential([keras.Input((4,)), layer])

    assert flops_per_sample(dense(None, bias=False)) == 2 * 4 * 3 == 24  # multiply-add = 2
    assert flops_per_sample(dense(None)) == 24 + 3 == 27  # + one add per bias
    assert flops_per_sample(dense("relu")) == 27  # activations are free in the profiler's count
    assert flops_per_sample(dense("softmax")) == 27 + 5 * 3 == 42
    assert _dense_flops([4, 3], softmax=True) == 42


@pytest.mark.parametrize("num_classes", [2, 3])
def test_flops_per_sample_of_the_dnn(num_classes):
    from benchmarks.measure.flops import flops_per_sample
    from models import get_model

    spec = get_model("dnn")
    model = spec.build((30,), num_classes, **spec.hparams())  # dropout/regularisers: no forward FLOPs
    head = 1 if num_classes == 2 else num_classes  # sigmoid unit or softmax
    assert flops_per_sample(model) == _dense_flops([30, 512, 256, head], softmax=num_classes > 2)


def test_flops_per_sample_conv():
    import keras

    from benchmarks.measure.flops import flops_per_sample

    valid = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, use_bias=False)])
    assert flops_per_sample(valid) == 6 * 6 * 2 * (2 * 3 * 3 * 1)  # outputs x multiply-adds each
    same = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same")])
    assert flops_per_sample(same) == 8 * 8 * 4 * (2 * 3 * 3 * 3 + 1)


def test_flops_per_sample_never_raises():
    from benchmarks.measure.flops import flops_per_sample

    assert flops_per_sample(object()) is None


def test_configure_threads_returns_ints():
    import tensorflow as tf

    out = measure.configure_threads()
    assert set(out) == {"intra_op_threads", "inter_op_threads"}
    assert all(isinstance(v, int) and v >= 1 for v in out.values())
    (tf.constant(1.0) + 1.0).numpy()  # the runtime is initialised: pools are fixed from now on
    assert measure.configure_threads(1, 1) == out  # no error; reports what is in force


def test_environment_has_the_documented_keys():
    env = measure.environment(measure.configure_threads())
    missing = [k for k in ENV_KEYS if k not in env]
    assert not missing
    assert env["device_kind"] in ("CPU", "GPU") and isinstance(env["gpus"], list)
    assert (env["device_kind"] == "GPU") == bool(env["gpus"])
    assert env["tensorflow"].count(".") >= 1 and env["keras"].startswith("3")
    assert isinstance(env["cpu_count"], int) and env["cpu_count"] >= 1
    assert isinstance(env["intra_op_threads"], int) and isinstance(env["inter_op_threads"], int)
    assert env["git_commit"] is None or len(env["git_commit"].split("-")[0]) == 40


def test_control_benchmark_and_memory():
    ctl = measure.control_benchmark(repeats=1)
    assert set(ctl) == {"matmul_gflops", "ref_model_samples_per_s"}
    assert all(isinstance(v, float) and v > 0 for v in ctl.values())
    assert measure.peak_rss_mb() > 50  # TensorFlow is loaded
    if not measure.device_info()["gpus"]:
        assert measure.gpu_peak_memory_mb() is None
