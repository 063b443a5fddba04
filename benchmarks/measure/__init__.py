"""Measurement: device and environment facts, a control benchmark, training timing,
inference throughput and latency, peak memory. TensorFlow is imported inside functions."""

from __future__ import annotations

import os
import platform
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def configure_threads(intra_op: int | None = None, inter_op: int | None = None) -> dict[str, int]:
    """Set TensorFlow's CPU thread pools once, before any op runs; returns what is in force."""
    import tensorflow as tf

    try:
        if intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:  # already initialised in this process: keep what is in force
        pass
    cores = usable_cores()
    return {
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or cores,
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads() or cores,
    }


def fit_costs(train_time: float, epoch_times: list[float], epochs: int,
              best_epoch: int | None) -> dict[str, Any]:
    """The training cost fields of a Keras-style fit: time, first epoch, epochs run, best epoch."""
    return {"train_time_s": train_time, "first_epoch_s": epoch_times[0] if epoch_times else None,
            "epochs": epochs, "best_epoch": best_epoch}


def inference_costs(predict: Callable[[Any], Any], sample: Any, timed_batch: int, min_time_s: float,
                    latency_calls: int) -> dict[str, Any]:
    """Inference throughput (at ``timed_batch``), the batch it was timed with, and one-sample
    latency percentiles: the cost fields every adapter records the same way."""
    return {
        "inference_samples_per_s": inference_throughput(predict, sample, timed_batch, min_time_s),
        "inference_batch_size": timed_batch_size(timed_batch, sample),
        **latency_ms(predict, sample[:1], latency_calls),
    }


def thread_counts(intra_op: int | None = None, inter_op: int | None = None) -> dict[str, int]:
    """The thread pools a job process gets for these settings (what ``configure_threads`` returns
    there), without starting TensorFlow here."""
    cores = usable_cores()
    return {"intra_op_threads": intra_op or cores, "inter_op_threads": inter_op or cores}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def device_info() -> dict[str, Any]:
    """GPU names and memory when visible, else the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    info: dict[str, Any] = {"gpus": [], "gpu_memory_mb": []}
    for g in gpus:
        details = tf.config.experimental.get_device_details(g)
        info["gpus"].append(details.get("device_name", g.name))
    if gpus:
        info["device_kind"] = "GPU"
        info["device_name"] = info["gpus"][0]
        try:
            for i, _ in enumerate(gpus):
                mem = tf.config.experimental.get_memory_info(f"GPU:{i}")
                info["gpu_memory_mb"].append(round(mem.get("peak", 0) / 2**20, 1))
        except (ValueError, RuntimeError):
            pass
    else:
        info["device_kind"] = "CPU"
        info["device_name"] = cpu_model()
    return info


def environment(threads: dict[str, int] | None = None) -> dict[str, Any]:
    """Versions, hardware and code identity for every record."""
    import keras
    import tensorflow as tf

    env: dict[str, Any] = {
        **device_info(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
        "hostname": socket.gethostname(),
    }
    try:
        import sklearn

        env["scikit_learn"] = sklearn.__version__
    except ImportError:
        pass
    env.update(threads or {})
    return env


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB.

    Linux: ``VmHWM`` of /proc/self/status, the peak of this program's own memory; ``ru_maxrss``
    would also carry the peak of the parent a job process was forked from (kept across exec).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024 if sys.platform != "darwin" else kb / 2**20, 1)


def gpu_peak_memory_mb() -> float | None:
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    try:
        return round(tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20, 1)
    except (ValueError, RuntimeError, KeyError):
        return None


def reset_gpu_peak() -> None:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.reset_memory_stats("GPU:0")
        except (ValueError, RuntimeError):
            pass


def control_benchmark(repeats: int = 3) -> dict[str, float]:
    """A fixed workload measured in the same run, to normalise speeds across machines.

    ``matmul_gflops``: 1024x1024 float32 matmul; ``ref_model_samples_per_s``: training
    throughput of a fixed dense model (64 -> 256 -> 256 -> 2) on fixed random data. Best of
    ``repeats`` timings each, after warm-up.
    """
    import keras
    import tensorflow as tf

    n = 1024
    a = tf.random.stateless_normal((n, n), seed=(1, 2))
    b = tf.random.stateless_normal((n, n), seed=(3, 4))
    mm = tf.function(lambda: tf.linalg.matmul(a, b))
    mm().numpy()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(10):
            out = mm()
        out.numpy()
        best = min(best, (time.perf_counter() - t0) / 10)
    gflops = 2 * n**3 / best / 1e9

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2048, 64)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)  # warm-up / trace
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
        best = min(best, time.perf_counter() - t0)
    return {"matmul_gflops": round(gflops, 2), "ref_model_samples_per_s": round(len(x) / best, 1)}


def make_timing_callback(target: tuple[str, float] | None = None):
    """A Keras callback timing each epoch's training steps (validation excluded).

    Attributes after fit: ``epoch_times`` (s), ``epoch_steps``, ``time_to_target_s`` and
    ``epoch_to_target`` (None when not reached).
    """
    import keras

    class TimingCallback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch_times: list[float] = []
            self.epoch_steps: list[int] = []
            self.target = target
            self.time_to_target_s: float | None = None
            self.epoch_to_target: int | None = None
            self._fit_start = 0.0

        def on_train_begin(self, logs=None):
            self._fit_start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.perf_counter()
            self._last = self._t0
            self._steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self._last = time.perf_counter()
            self._steps = batch + 1

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_times.append(self._last - self._t0)
            self.epoch_steps.append(self._steps)
            if self.target and self.time_to_target_s is None:
                metric, value = self.target
                got = (logs or {}).get(metric)
                better_low = "loss" in metric
                if got is not None and (got <= value if better_low else got >= value):
                    self.time_to_target_s = time.perf_counter() - self._fit_start
                    self.epoch_to_target = epoch + 1

    return TimingCallback()


def steady_throughput(epoch_times: list[float], epoch_steps: list[int], samples_per_epoch: int) -> dict:
    """Training samples/s over epochs 2..n (the first epoch traces and compiles).

    With a single epoch, that epoch is used and ``steady`` is False.
    """
    if not epoch_times:
        return {"train_samples_per_s": None, "train_steps_measured": 0, "steady": False}
    steady = len(epoch_times) > 1
    times = epoch_times[1:] if steady else epoch_times
    steps = epoch_steps[1:] if steady else epoch_steps
    total = sum(times)
    return {
        "train_samples_per_s": samples_per_epoch * len(times) / total if total > 0 else None,
        "train_steps_measured": int(sum(steps)),
        "steady": steady,
    }


def time_calls(fn: Callable[[], Any], *, warmup: int, min_calls: int, min_time_s: float) -> list[float]:
    """Per-call wall times (s) of ``fn`` after ``warmup`` calls, until both minima are met."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < min_time_s:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 100_000:
            break
    return times


# Small test splits are tiled up to one batch for timing, but never past MAX_TILED_SAMPLES
# samples or MAX_TILED_BYTES of input (nor past the split itself when that is larger):
# memory and timing cost do not grow with ``--batch-size``.
MAX_TILED_SAMPLES = 1024
MAX_TILED_BYTES = 64 * 2**20


def timed_batch_size(batch_size: int, x: np.ndarray) -> int:
    """The inference batch actually timed: ``batch_size``, capped (see ``MAX_TILED_SAMPLES``)."""
    per_sample = max(1, int(x[:1].nbytes))
    cap = max(len(x), min(MAX_TILED_SAMPLES, MAX_TILED_BYTES // per_sample), 1)
    return max(1, min(int(batch_size), cap))


def timing_sample(split: Any, batch_size: int) -> tuple[np.ndarray, int]:
    """(float32 rows to time inference and latency on, the timed batch size): the first rows
    of ``split`` (a ``datasets.base.Split``), at most one capped batch (see
    ``MAX_TILED_SAMPLES``), read and converted alone: a split on disk stays there."""
    per_sample = 4 * max(1, int(np.prod(split.x.shape[1:], dtype=np.int64)))  # float32 bytes
    cap = max(1, min(MAX_TILED_SAMPLES, MAX_TILED_BYTES // per_sample))
    size = max(1, min(int(batch_size), cap))
    return split.floats(slice(0, min(size, len(split)))), size


def memory_fields(dataset: Any) -> dict[str, Any]:
    """The dataset's feature bytes as stored (pixels for images), MiB, and peak RSS over it."""
    data_mb = dataset.nbytes / 2**20
    peak = peak_rss_mb()
    return {"data_memory_mb": round(data_mb, 1),
            "peak_rss_data_ratio": round(peak / data_mb, 2) if data_mb > 0 else None}


def inference_throughput(predict: Callable[[np.ndarray], Any], x: np.ndarray, batch_size: int,
                         min_time_s: float = 0.3) -> float:
    """Samples/s of ``predict`` on one batch of ``timed_batch_size(batch_size, x)`` samples
    (``x`` tiled up to it if smaller)."""
    size = timed_batch_size(batch_size, x)
    if len(x) < size:
        x = np.resize(x, (size, *x.shape[1:]))  # repeats x cyclically
    batch = x[:size]
    times = time_calls(lambda: predict(batch), warmup=2, min_calls=5, min_time_s=min_time_s)
    return size * len(times) / sum(times)


def latency_ms(predict: Callable[[np.ndarray], Any], x_one: np.ndarray, calls: int = 50) -> dict[str, float]:
    """p50 / p95 / p99 latency (ms) of one-sample prediction after warm-up."""
    times = np.asarray(time_calls(lambda: predict(x_one), warmup=5, min_calls=calls, min_time_s=0.0))
    p50, p95, p99 = np.percentile(times * 1e3, [50, 95, 99])
    return {"latency_ms_p50": float(p50), "latency_ms_p95": float(p95), "latency_ms_p99": float(p99)}
