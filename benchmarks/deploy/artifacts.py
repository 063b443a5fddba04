"""Write a record's deployable artifacts (layout: ``benchmarks.deploy``), each with the preprocessing
baked in, into a temporary folder that is renamed into place only when every artifact and manifest
is written (nothing half-written on failure)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import OncobenchError
from benchmarks.deploy import FORMATS, KERAS_FORMATS, SKLEARN_FORMATS, artifact_file
from benchmarks.deploy.source import Source

CALIBRATION_SAMPLES = 200  # training samples for full-integer calibration (all when fewer)
ONNX_OPSET = 17


def formats_for(framework: str, wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The formats that apply to ``framework``, filtered by ``wanted`` (an unknown name: error)."""
    applies = KERAS_FORMATS if framework == "keras" else SKLEARN_FORMATS
    if not wanted:
        return applies
    bad = [f for f in wanted if f not in FORMATS]
    if bad:
        raise OncobenchError(f"unknown format {bad[0]!r}; valid: {', '.join(FORMATS)}")
    return tuple(f for f in applies if f in wanted)


def calibration(src: Source) -> np.ndarray:
    """Raw training samples for full-integer calibration, chosen with the record's seed."""
    n = len(src.raw_train)
    rng = np.random.default_rng(int(src.record["seed"]))
    idx = np.sort(rng.choice(n, min(n, CALIBRATION_SAMPLES), replace=False))
    return src.raw_train[idx].astype(src.prep.input_dtype)


# ------------------------------------------------------------------ Keras: SavedModel, LiteRT, ONNX
def _savedmodel(model: Any, path: Path) -> dict[str, Any]:
    model.export(str(path), format="tf_saved_model", verbose=False)
    return {"converter": "keras Model.export(format='tf_saved_model')", "signature": "serving_default"}


def _tflite(saved: Path, path: Path, mode: str, rep: np.ndarray | None, kind: str) -> dict[str, Any]:
    import tensorflow as tf

    from benchmarks.deploy.preprocessing import PREPROCESSING_OPS

    def convert(ops: list[Any]) -> bytes:
        conv = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serving_default"])
        if mode != "float32":
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "int8":
            conv.representative_dataset = lambda: ([rep[i:i + 1]] for i in range(len(rep)))
            conv.target_spec.supported_ops = ops
        return conv.convert()

    facts: dict[str, Any] = {"converter": f"tf.lite.TFLiteConverter ({mode})", "quantisation": mode}
    if mode == "int8" and kind == "tabular":  # the network int8, the preprocessing float32
        facts["calibration_samples"] = int(len(rep))
        conv = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=["serving_default"])
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([rep[i:i + 1]] for i in range(len(rep)))
        opts = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=list(PREPROCESSING_OPS))
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=conv, debug_dataset=lambda: ([rep[i:i + 1]] for i in range(len(rep))),
            debug_options=opts)
        data = debugger.get_nondebug_quantized_model()
        facts["ops"] = ("int8 network; preprocessing op types kept float32 (denylisted: "
                        f"{', '.join(PREPROCESSING_OPS)}; see benchmarks/deploy/preprocessing.py)")
    elif mode == "int8":
        facts["calibration_samples"] = int(len(rep))
        try:
            data = convert([tf.lite.OpsSet.TFLITE_BUILTINS_INT8])
            facts["ops"] = "int8 only (TFLITE_BUILTINS_INT8)"
        except Exception as exc:  # noqa: BLE001 - an op without an int8 kernel: float fallback, stated
            data = convert([tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS])
            facts["ops"] = ("int8 where a kernel exists, float32 otherwise (strict int8 failed: "
                            f"{(str(exc).strip().splitlines() or [''])[0][:160]})")
    else:
        data = convert([])
    path.write_bytes(data)
    facts["tensor_dtypes"] = tensor_dtypes(path)
    return facts


def tensor_dtypes(path: Path) -> dict[str, int]:
    """How many tensors of each dtype a .tflite model holds (how much of it is quantised)."""
    from ai_edge_litert.interpreter import Interpreter

    counts: dict[str, int] = {}
    for t in Interpreter(model_path=str(path)).get_tensor_details():
        name = np.dtype(t["dtype"]).name
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _keras_onnx(model: Any, spec: Any, path: Path) -> dict[str, Any]:
    """Keras's own ONNX export first; tf2onnx's from_function when it fails (both stated)."""
    try:
        model.export(str(path), format="onnx", verbose=False, opset_version=ONNX_OPSET)
        _fill_nan_first(path, spec)
        return {"converter": "keras Model.export(format='onnx') (tf2onnx underneath)", "opset": ONNX_OPSET}
    except Exception as exc:  # noqa: BLE001 - try the other converter, keep why this one failed
        first = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}"
    import tensorflow as tf
    import tf2onnx
    from keras.src.export.tf2onnx_lib import patch_tf2onnx  # numpy 2 fix Keras applies itself

    patch_tf2onnx()
    sig = [tf.TensorSpec([None, *spec.input_shape], tf.as_dtype(spec.input_dtype), name="raw")]
    fn = tf.function(lambda raw: model(raw, training=False), input_signature=sig)
    try:
        tf2onnx.convert.from_function(fn, input_signature=sig, opset=ONNX_OPSET, output_path=str(path))
    except Exception as exc:  # noqa: BLE001
        raise OncobenchError(f"ONNX: neither converter handles this model (Keras export: {first}; tf2onnx: "
                             f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}); "
                             "leave onnx out (--formats)") from None
    _fill_nan_first(path, spec)
    return {"converter": "tf2onnx.convert.from_function", "opset": ONNX_OPSET, "keras_export_failed": first}


def _fill_nan_first(path: Path, spec: Any) -> None:
    """Rewrite the ONNX file with the NaN fill as its first nodes (``onnx_nan_fill``: the
    converter's lowering of the Keras graph's fill lets NaN through)."""
    import onnx

    from benchmarks.deploy.preprocessing import onnx_nan_fill

    proto = onnx.load(str(path))
    onnx_nan_fill(spec, proto.graph)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


# ------------------------------------------------------------------ scikit-learn: ONNX
def _sklearn_onnx(src: Source, path: Path) -> dict[str, Any]:
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    from benchmarks.deploy.preprocessing import onnx_prefix

    est = src.model
    n = int(len(src.prep.keep))
    try:
        proto = convert_sklearn(est, initial_types=[("features", FloatTensorType([None, n]))],
                                options={id(est): {"zipmap": False}},
                                target_opset={"": ONNX_OPSET, "ai.onnx.ml": 3})
    except Exception as exc:  # noqa: BLE001 - e.g. an estimator skl2onnx has no converter for
        raise OncobenchError(f"{src.record['key']}: skl2onnx cannot convert {type(est).__name__} "
                             f"({type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}); "
                             "leave onnx out (--formats)") from None
    onnx_prefix(src.prep, proto.graph, "features")
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())
    return {"converter": "skl2onnx.convert_sklearn (+ preprocessing as ONNX nodes)", "opset": ONNX_OPSET,
            "estimator": type(est).__name__, "input_dtype": "float64"}


def _why(exc: Exception) -> str:
    """One line on why a converter failed (LiteRT: the ops it has no kernel for)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    pick = next((ln for ln in lines if ln.startswith(("TF Select ops:", "Some ops are not supported"))),
                lines[0] if lines else "")
    return f"{type(exc).__name__}: {pick[:200]}"


# ------------------------------------------------------------------ the folder
def _write_formats(src: Source, tmp: Path, formats: tuple[str, ...], log: Callable[[str], None]
                   ) -> dict[str, dict[str, Any]]:
    from benchmarks.deploy.preprocessing import keras_deployable

    facts: dict[str, dict[str, Any]] = {}

    def timed(fmt: str, make: Callable[[], dict[str, Any]]) -> None:
        log(f"  {src.name}: writing {fmt} ...")
        t0 = time.perf_counter()
        try:
            made = make()
        except OncobenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - a converter refusing this model: one line, exit 2
            raise OncobenchError(f"{src.record['key']}: cannot write {fmt} ({_why(exc)}); leave it out "
                                 f"with --formats (this model: {', '.join(formats_for(src.framework))})"
                                 ) from None
        facts[fmt] = {**made, "export_s": round(time.perf_counter() - t0, 3)}

    if src.framework == "sklearn":
        if "onnx" in formats:
            timed("onnx", lambda: _sklearn_onnx(src, tmp / artifact_file("onnx")))
        return facts
    from benchmarks.deploy.preprocessing import inference_only

    removed = inference_only(src.model)[1]
    model = keras_deployable(src.prep, src.model, src.ds.num_classes, f"{src.record['model']}_deploy")
    saved = tmp / artifact_file("savedmodel")
    timed("savedmodel", lambda: _savedmodel(model, saved))  # LiteRT converts from it
    rep = calibration(src)
    for fmt, mode in (("tflite_float32", "float32"), ("tflite_dynamic_int8", "dynamic_int8"),
                      ("tflite_int8", "int8")):
        if fmt in formats:
            timed(fmt, lambda fmt=fmt, mode=mode: _tflite(saved, tmp / artifact_file(fmt), mode, rep,
                                                                 src.prep.kind))
    if "onnx" in formats:
        timed("onnx", lambda: _keras_onnx(model, src.prep, tmp / artifact_file("onnx")))
    if "savedmodel" not in formats:
        shutil.rmtree(saved)
        facts.pop("savedmodel")
    for f in facts.values():
        f["augmentation_removed"] = removed
    return facts


def export_record(src: Source, out_root: Path, formats: tuple[str, ...] | None = None,
                  log: Callable[[str], None] = print) -> Path:
    """Write ``src``'s artifacts and manifests to ``out_root/<model>-<dataset>-s<seed>``; returns
    the folder. Built in a temporary sibling folder and renamed into place (an older export of
    the same record is replaced only then)."""
    from benchmarks.core.atomic import check_writable_dir, write_error
    from benchmarks.deploy.manifest import write_manifests

    formats = formats_for(src.framework, formats)
    if not formats:
        raise OncobenchError(f"{src.record['key']}: none of the requested formats applies to a "
                             f"{src.framework} model (it has: {', '.join(formats_for(src.framework))})")
    out_root = Path(out_root)
    check_writable_dir(out_root, "--output")
    final = out_root / src.name
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{src.name}-", dir=out_root))
    except OSError as exc:
        raise write_error(out_root, exc) from None
    try:
        np.save(tmp / "test_inputs.npy", src.raw_test)  # the record's raw test inputs, for checks
        facts = _write_formats(src, tmp, formats, log)
        write_manifests(src, tmp, facts)
        old = None
        if final.exists():
            old = out_root / f".{src.name}-old-{os.getpid()}"
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise write_error(final, exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
