"""The suite's own cost (pytest-benchmark; skipped by the default test run).

    python -m pytest tests/perf --benchmark-only

1. harness training overhead: ``run_one``'s ``train_time_s`` against a bare ``model.fit`` on
   the same model, data (through the same input pipeline), epochs and batch size, no
   callbacks (target: at most 3%);
2. input pipeline: steady training throughput through ``make_pipeline`` against the same
   model fed in-memory NumPy arrays (target: at least 0.95 of it);
3. CLI start-up: ``python -m benchmarks list`` and ``--help`` (target: under 1 s, no TensorFlow).

After one untimed warm-up round, the variants run back to back in each round (order
alternating) and the median over rounds of their paired ratio is compared with the target.
The overhead benchmark also reports process CPU time, steadier than wall time on a busy machine.
"""

from __future__ import annotations

import functools
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_OVERHEAD = 0.03
MIN_PIPELINE_RATIO = 0.95
MAX_STARTUP_S = 1.0


@dataclass(frozen=True)
class Workload:
    model: str
    dataset: str
    epochs: int  # for the overhead benchmark (the standard profile runs 30)
    batch_size: int
    rounds: int
    pipeline_epochs: int  # for the throughput benchmark (first epoch excluded)


WORKLOADS = {
    "dnn-wisconsin": Workload("dnn", "wisconsin", epochs=30, batch_size=32, rounds=8, pipeline_epochs=11),
    "cnn-breastmnist": Workload("cnn", "breastmnist", epochs=5, batch_size=32, rounds=5, pipeline_epochs=4),
}


@functools.lru_cache(maxsize=None)
def _dataset(name: str):
    from datasets import LoadOptions, get_dataset

    return get_dataset(name).load(LoadOptions(seed=0))


def _config(w: Workload):
    from benchmarks.config import get_profile

    # early stopping never fires (patience = epochs); little time after fit on latency/inference
    return get_profile("standard").with_(epochs=w.epochs, batch_size=w.batch_size, patience=w.epochs,
                                         seeds=(0,), latency_calls=1, inference_min_time_s=0.0)


def _compiled_model(w: Workload, config):
    """The harness's model for ``w``, built and compiled exactly as ``run_one`` does."""
    import keras

    from benchmarks.adapters.keras import compile_model
    from models import get_model

    ds = _dataset(w.dataset)
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    spec = get_model(w.model)
    model = spec.build(ds.input_shape, ds.num_classes, **spec.hparams())
    compile_model(model, ds.num_classes, config, config.learning_rate)
    return model


def _paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of a_i / b_i: each pair ran back to back, so slow drifts in machine load cancel."""
    return statistics.median(x / y for x, y in zip(a, b))


def _alternate(variants: dict, results: dict[str, list[float]]):
    """One round: every variant once, order reversed on odd rounds; the result appended."""
    def one_round() -> None:
        names = list(variants)
        if len(results[names[0]]) % 2:
            names.reverse()
        for name in names:
            results[name].append(variants[name]())

    return one_round


def _cpu_timer(out: list[float]):
    """A Keras callback appending the process CPU time (all threads) spent in fit to ``out``."""
    import keras

    class CpuTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._t0 = time.process_time()

        def on_train_end(self, logs=None):
            out.append(time.process_time() - self._t0)

    return CpuTimer()


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_harness_training_overhead(benchmark, tmp_path, name):
    from benchmarks.adapters.keras import make_pipeline
    from benchmarks.execution.harness import run_one
    from models import get_model

    w = WORKLOADS[name]
    ds = _dataset(w.dataset)
    config = _config(w)
    cpu: dict[str, list[float]] = {"bare": [], "harness": []}

    def harness() -> float:
        rec = run_one(get_model(w.model), ds, 0, config, run_dir=tmp_path,
                      callbacks=[_cpu_timer(cpu["harness"])])
        return rec["train_time_s"]

    def bare() -> float:  # the same model, data, input pipeline, epochs and batch size; no callbacks
        model = _compiled_model(w, config)
        train = make_pipeline(ds.train.x, ds.train.y, w.batch_size, shuffle=True, seed=0)
        val = make_pipeline(ds.val.x, ds.val.y, w.batch_size, shuffle=False, seed=0)
        t0 = time.perf_counter()
        model.fit(train, validation_data=val, epochs=w.epochs, verbose=0, callbacks=[_cpu_timer(cpu["bare"])])
        return time.perf_counter() - t0

    wall: dict[str, list[float]] = {"bare": [], "harness": []}
    one_round = _alternate({"bare": bare, "harness": harness}, wall)
    one_round()  # warm-up: first traces, file system, thread pools
    for v in (*wall.values(), *cpu.values()):
        v.clear()
    benchmark.pedantic(one_round, rounds=w.rounds, iterations=1)
    overhead = _paired_ratio(wall["harness"], wall["bare"]) - 1
    cpu_overhead = _paired_ratio(cpu["harness"], cpu["bare"]) - 1
    benchmark.extra_info.update({
        "epochs": w.epochs, "batch_size": w.batch_size, "rounds": w.rounds,
        **{f"{k}_s": [round(t, 4) for t in v] for k, v in wall.items()},
        **{f"{k}_cpu_s": [round(t, 4) for t in v] for k, v in cpu.items()},
        "overhead_pct": round(100 * overhead, 2),
        "cpu_overhead_pct": round(100 * cpu_overhead, 2),
    })
    print(f"\n{name}: fit wall time (median) bare {statistics.median(wall['bare']):.3f} s, harness "
          f"{statistics.median(wall['harness']):.3f} s: overhead {100 * overhead:+.1f}% "
          f"(process CPU time {100 * cpu_overhead:+.1f}%)")
    assert overhead <= MAX_OVERHEAD, f"harness overhead {100 * overhead:.1f}% > {100 * MAX_OVERHEAD:.0f}%"


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_input_pipeline_throughput(benchmark, name):
    from benchmarks import measure
    from benchmarks.adapters.keras import make_pipeline

    w = WORKLOADS[name]
    ds = _dataset(w.dataset)
    config = _config(w)
    x, y = ds.train.x, ds.train.y

    def throughput(feed: str) -> float:
        model = _compiled_model(w, config)
        timer = measure.make_timing_callback()
        if feed == "pipeline":
            data = make_pipeline(x, y, w.batch_size, shuffle=True, seed=0)
            model.fit(data, epochs=w.pipeline_epochs, callbacks=[timer], verbose=0)
        else:
            model.fit(x, y, batch_size=w.batch_size, shuffle=True, epochs=w.pipeline_epochs,
                      callbacks=[timer], verbose=0)
        out = measure.steady_throughput(timer.epoch_times, timer.epoch_steps, len(x))
        assert out["steady"] and out["train_steps_measured"] > 0
        return out["train_samples_per_s"]

    thr: dict[str, list[float]] = {"in_memory": [], "pipeline": []}
    one_round = _alternate({"in_memory": lambda: throughput("in_memory"),
                            "pipeline": lambda: throughput("pipeline")}, thr)
    one_round()
    for v in thr.values():
        v.clear()
    benchmark.pedantic(one_round, rounds=w.rounds, iterations=1)
    ratio = _paired_ratio(thr["pipeline"], thr["in_memory"])
    benchmark.extra_info.update({
        "epochs": w.pipeline_epochs, "batch_size": w.batch_size, "rounds": w.rounds,
        **{f"{k}_samples_per_s": [round(t, 1) for t in v] for k, v in thr.items()},
        "ratio": round(ratio, 3),
    })
    print(f"\n{name}: steady training samples/s (median) in-memory "
          f"{statistics.median(thr['in_memory']):.0f}, make_pipeline "
          f"{statistics.median(thr['pipeline']):.0f}; ratio {ratio:.3f}")
    assert ratio >= MIN_PIPELINE_RATIO, f"pipeline at {ratio:.3f} of in-memory throughput"


@pytest.mark.parametrize("argv", [["list"], ["--help"]], ids=["list", "help"])
def test_cli_startup(benchmark, argv):
    cmd = [sys.executable, "-m", "benchmarks", *argv]

    def start() -> None:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr

    benchmark.pedantic(start, rounds=7, iterations=1, warmup_rounds=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info["median_s"] = round(median, 3)
    print(f"\npython -m benchmarks {' '.join(argv)}: median {median:.3f} s, "
          f"min {benchmark.stats.stats.min:.3f} s")
    assert median < MAX_STARTUP_S

    heavy = ("tensorflow", "keras", "matplotlib", "scipy")
    code = "\n".join([
        "import contextlib, io, sys",
        "from benchmarks.cli import build_parser, main",
        "build_parser()",
        "try:",
        f"    with contextlib.redirect_stdout(io.StringIO()): rc = main({argv!r})",
        "except SystemExit as exc:  # --help",
        "    rc = exc.code",
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))",
        "sys.exit(rc)",
    ])
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"python -m benchmarks {' '.join(argv)} imported {out.stdout.strip()}"
