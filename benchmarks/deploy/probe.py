"""Run one exported artifact in a fresh process with only its runtime imported (TensorFlow,
ai-edge-litert or onnxruntime: never oncobench, never Keras) and time it.

    python probe.py ARTIFACT FORMAT INPUTS.npy PROBS_OUT.npy [--threads N] [--latency-calls N]

ARTIFACT: a SavedModel folder (format savedmodel), a .tflite file (tflite_*) or a .onnx file
(onnx). Prints one JSON line: import and load (cold-start) seconds, first-call seconds,
single-sample latency percentiles (ms), batch throughput (samples/s, the whole input as one
batch), peak RSS (MiB, the whole process) and the modules that were imported. Writes the
class probabilities of INPUTS (one batch) to PROBS_OUT. This file imports nothing of the project
so that it can be copied next to the artifacts (or read as an example of how to run them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

# Blocked: this process must show that an artifact runs on its runtime alone. TensorFlow imports
# Keras eagerly when it is installed, but carries on without it (an ImportError it ignores).
BLOCKED = ("keras", "tf_keras", "benchmarks", "models", "datasets")
for _name in BLOCKED:
    sys.modules.setdefault(_name, None)  # type: ignore[assignment]


def _savedmodel(path: str, threads: int, xnnpack: bool):
    t0 = time.perf_counter()
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    fn = tf.saved_model.load(path).signatures["serving_default"]
    t_load = time.perf_counter() - t0
    name = list(fn.structured_input_signature[1])[0]
    dtype = fn.structured_input_signature[1][name].dtype

    def run(x: np.ndarray) -> np.ndarray:
        out = fn(**{name: tf.constant(x, dtype=dtype)})
        return next(iter(out.values())).numpy()

    return run, t_import, t_load


def _tflite(path: str, threads: int, xnnpack: bool):
    t0 = time.perf_counter()
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(model_path=path, num_threads=threads or os.cpu_count(),
                         experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    t_load = time.perf_counter() - t0
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    state = {"n": int(inp["shape"][0])}

    def run(x: np.ndarray) -> np.ndarray:
        if state["n"] != len(x):
            interp.resize_tensor_input(inp["index"], [len(x), *x.shape[1:]])
            interp.allocate_tensors()
            state["n"] = len(x)
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        return np.array(interp.get_tensor(out["index"]))

    return run, t_import, t_load


def _onnx(path: str, threads: int, xnnpack: bool):
    t0 = time.perf_counter()
    import onnxruntime as ort

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads  # 0: onnxruntime's default (all physical cores)
    opts.inter_op_num_threads = threads or 0
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    t_load = time.perf_counter() - t0
    inp = sess.get_inputs()[0]
    dtype = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(double)": np.float64}.get(
        inp.type, np.float32)
    outs = [o.name for o in sess.get_outputs()]
    # skl2onnx classifiers: (label, probabilities); tf2onnx: probabilities only
    prob = "probabilities" if "probabilities" in outs else outs[-1]

    def run(x: np.ndarray) -> np.ndarray:
        return np.asarray(sess.run([prob], {inp.name: x.astype(dtype)})[0])

    return run, t_import, t_load


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: since exec, unlike ru_maxrss, which on Linux
    keeps the forking parent's peak)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


RUNTIMES = {"savedmodel": _savedmodel, "onnx": _onnx, "tflite": _tflite}


def runtime_of(fmt: str) -> str:
    return "tflite" if fmt.startswith("tflite") else fmt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact")
    p.add_argument("format")
    p.add_argument("inputs")
    p.add_argument("probs_out")
    p.add_argument("--threads", type=int, default=1, help="0: the runtime's default (all cores)")
    p.add_argument("--latency-calls", type=int, default=200)
    p.add_argument("--no-xnnpack", action="store_true",
                   help="LiteRT: builtin kernels only (XNNPACK, the default delegate, off)")
    p.add_argument("--min-seconds", type=float, default=0.5, help="least time spent timing throughput")
    a = p.parse_args(argv)
    x = np.load(a.inputs)
    run, t_import, t_load = RUNTIMES[runtime_of(a.format)](a.artifact, a.threads, not a.no_xnnpack)
    t0 = time.perf_counter()
    run(x[:1])
    first = time.perf_counter() - t0
    lat = []
    for i in range(a.latency_calls):
        row = x[i % len(x): i % len(x) + 1]
        t0 = time.perf_counter()
        run(row)
        lat.append(time.perf_counter() - t0)
    probs = run(x)  # warm the batch shape
    n, t0 = 0, time.perf_counter()
    while True:
        run(x)
        n += len(x)
        if time.perf_counter() - t0 >= a.min_seconds:
            break
    thr = n / (time.perf_counter() - t0)
    np.save(a.probs_out, np.asarray(probs, dtype=np.float64))
    ms = np.asarray(lat) * 1e3
    project = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED and sys.modules[m] is not None)
    print(json.dumps({
        "import_s": t_import, "load_s": t_load, "first_call_s": first,
        "latency_ms_p50": float(np.percentile(ms, 50)), "latency_ms_p95": float(np.percentile(ms, 95)),
        "latency_ms_p99": float(np.percentile(ms, 99)), "latency_calls": len(lat),
        "samples_per_s": thr, "batch_size": int(len(x)), "threads": a.threads, "xnnpack": not a.no_xnnpack,
        "peak_rss_mb": peak_rss_mb(),
        "project_modules_imported": project,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
