"""An exported artifact folder (``benchmarks.deploy`` layout) as a served model: its manifest,
its input spec and a ``predict`` on onnxruntime (preferred) or TensorFlow (SavedModel)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import OncobenchError

SERVED_FORMATS = ("onnx", "savedmodel")  # in order of preference
PLATFORMS = {"onnx": "onnxruntime_onnx", "savedmodel": "tensorflow_savedmodel"}
V2_DATATYPES = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
}


@dataclass
class ServedModel:
    """One artifact behind the v2 endpoints."""

    name: str
    folder: Path
    fmt: str
    manifest: dict[str, Any]
    predict: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.manifest["input"]["dtype"])

    @property
    def datatype(self) -> str:
        return V2_DATATYPES[self.dtype.name]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.manifest["input"]["shape"][1:])

    @property
    def kind(self) -> str:
        return str(self.manifest["preprocessing"]["kind"])

    @property
    def class_names(self) -> list[str]:
        return [str(c) for c in self.manifest["class_names"]]

    @property
    def version(self) -> str:
        """The artifact's sha256 prefix: changes whenever the served bytes do."""
        return str(self.manifest["artifact"]["sha256"])[:12]

    @property
    def allows_nan(self) -> bool:
        """Tabular artifacts impute missing values (NaN) themselves; images have none."""
        return self.kind == "tabular"

    def metadata(self) -> dict[str, Any]:
        """The v2 model metadata response."""
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": PLATFORMS[self.fmt],
            "inputs": [{"name": "raw", "datatype": self.datatype, "shape": [-1, *self.sample_shape]}]
            + (
                [
                    {
                        "name": "dicom",
                        "datatype": "BYTES",
                        "shape": [-1],
                        "parameters": {"content_type": "base64"},
                    }
                ]
                if self.kind == "image"
                else []
            ),
            "outputs": [
                {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(self.class_names)]},
                {"name": "predicted_class", "datatype": "BYTES", "shape": [-1]},
            ],
            "parameters": {
                "class_names": json.dumps(self.class_names),
                "record": str(self.manifest["record"].get("key")),
                "sha256": str(self.manifest["artifact"]["sha256"]),
            },
        }


def _onnx(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = threads or 0
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    outs = [o.name for o in sess.get_outputs()]
    prob = "probabilities" if "probabilities" in outs else outs[-1]  # skl2onnx: (label, probabilities)

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(sess.run([prob], {inp: x})[0], dtype=np.float32)

    return predict


def _savedmodel(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    from benchmarks.api import quiet_tensorflow  # imported only here: an ONNX server has no TensorFlow

    quiet_tensorflow()
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process
            pass
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    name = list(fn.structured_input_signature[1])[0]

    def predict(x: np.ndarray) -> np.ndarray:
        return np.asarray(next(iter(fn(**{name: tf.constant(x)}).values())).numpy(), dtype=np.float32)

    return predict


def load_model(folder: Path, fmt: str | None = None, threads: int = 1) -> ServedModel:
    """The artifact of ``folder`` in format ``fmt`` (default: ONNX if exported, else SavedModel)."""
    folder = Path(folder)
    try:
        index = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise OncobenchError(
            f"{folder}: no readable manifest.json ({type(exc).__name__}); pass an artifact "
            "folder written by `export model` or `deploy`"
        ) from None
    have = [f for f in SERVED_FORMATS if f in index.get("artifacts", {})]
    if fmt is not None and fmt not in have:
        raise OncobenchError(
            f"{folder}: no {fmt} artifact (has: {', '.join(index.get('artifacts', {})) or 'none'}); "
            f"pass --format {' or '.join(have) or 'onnx'} or export it"
        )
    if not have:
        raise OncobenchError(
            f"{folder}: neither an ONNX nor a SavedModel artifact; export one "
            "(export model --formats onnx,savedmodel)"
        )
    fmt = fmt or have[0]
    file = index["artifacts"][fmt]["file"]
    manifest = json.loads((folder / f"{file}.json").read_text())
    loader = _onnx if fmt == "onnx" else _savedmodel
    try:
        predict = loader(folder / file, threads)
    except Exception as exc:  # a runtime's own error on a damaged artifact: one line
        raise OncobenchError(
            f"{folder / file}: cannot load on its runtime ({type(exc).__name__}: "
            f"{str(exc)[:160]}); re-export it"
        ) from None
    return ServedModel(folder.name, folder, fmt, manifest, predict)


def artifact_folders(path: Path) -> list[Path]:
    """The artifact folders under ``path``: itself (it has manifest.json), its children, or a run
    folder's ``artifacts/`` children."""
    path = Path(path)
    if not path.exists():
        raise OncobenchError(
            f"{path}: no such file or folder; pass an artifact folder or a run folder "
            "that `export model`/`deploy` wrote to"
        )
    if (path / "manifest.json").is_file():
        return [path]
    for root in (path, path / "artifacts"):
        found = sorted(p for p in root.glob("*") if (p / "manifest.json").is_file()) if root.is_dir() else []
        if found:
            return found
    raise OncobenchError(
        f"{path}: no exported artifacts (no manifest.json here, in its sub-folders or in "
        "artifacts/); run `export model RUN_DIR` first"
    )


def load_models(paths: list[Path], fmt: str | None = None, threads: int = 1) -> dict[str, ServedModel]:
    """Every artifact folder under ``paths`` as served models, by name."""
    out: dict[str, ServedModel] = {}
    for p in paths:
        for folder in artifact_folders(p):
            if folder.name in out:
                raise OncobenchError(f"two artifact folders named {folder.name!r}; serve them separately")
            out[folder.name] = load_model(folder, fmt, threads)
    return out
