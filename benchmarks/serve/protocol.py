"""Open Inference Protocol (v2) infer requests checked into a model input: every refusal is a
``RequestError`` (HTTP 4xx, one line naming the problem and the fix)."""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Any

import numpy as np

from benchmarks.serve.models import V2_DATATYPES, ServedModel

NUMPY_OF = {v: k for k, v in V2_DATATYPES.items()}
JSON_TYPES = ("application/json", "application/fhir+json")


class RequestError(Exception):
    """A client error: ``status`` (4xx) and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object of a request body (content type JSON or absent, as tritonclient sends)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in JSON_TYPES:
        raise RequestError(
            415,
            f"content type {ctype!r} is not served; send the v2 JSON body as "
            "application/json (the binary tensor extension is not supported)",
        )
    try:
        doc = json.loads(body.decode("utf-8"), parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestError(
            400,
            f"request body is not valid JSON ({str(exc)[:80]}); send a v2 inference "
            'request: {"inputs": [{"name", "shape", "datatype", "data"}]}',
        ) from None
    if not isinstance(doc, dict):
        raise RequestError(
            400, f'request body is a JSON {type(doc).__name__}, not an object; send {{"inputs": [...]}}'
        )
    return doc


def _constant(name: str) -> float:
    """NaN / Infinity literals (not JSON, but Python clients send them): kept, checked later."""
    return float(name.replace("Infinity", "inf"))


def one_input(doc: dict[str, Any], model: ServedModel) -> dict[str, Any]:
    """The request's single input tensor, its fields checked for presence and type."""
    inputs = doc.get("inputs")
    names = "'raw'" + (" or 'dicom'" if model.kind == "image" else "")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        got = (
            "missing"
            if inputs is None
            else f"{type(inputs).__name__}" + (f" of {len(inputs)}" if isinstance(inputs, list) else "")
        )
        raise RequestError(
            400, f"'inputs' is {got}; model {model.name} takes exactly one input tensor ({names})"
        )
    t = inputs[0]
    for key in ("name", "shape", "datatype", "data"):
        if key not in t:
            raise RequestError(
                400, f"input tensor has no {key!r}; each input needs name, shape, datatype and data"
            )
    if t["name"] not in ("raw", "dicom") or (t["name"] == "dicom" and model.kind != "image"):
        raise RequestError(400, f"unknown input {str(t['name'])[:40]!r}; model {model.name} takes {names}")
    shape = t["shape"]
    if not isinstance(shape, list) or not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise RequestError(400, f"input shape {str(shape)[:60]} is not a list of non-negative integers")
    if not isinstance(t["datatype"], str):
        raise RequestError(400, f"input datatype must be a string such as {model.datatype!r}")
    return t


def _flat(data: Any, n: int, where: str) -> list[Any]:
    """``data`` (flat or nested lists, row-major) as a flat list of ``n`` items."""
    out: list[Any] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if len(out) + len(item) > n + 1 and not any(isinstance(i, list) for i in item):
                raise RequestError(400, f"{where}: more data elements than the shape holds ({n})")
            stack.extend(reversed(item))
        else:
            out.append(item)
            if len(out) > n:
                raise RequestError(400, f"{where}: more data elements than the shape holds ({n})")
    if len(out) != n:
        raise RequestError(400, f"{where}: {len(out)} data elements, the shape holds {n}")
    return out


def raw_array(t: dict[str, Any], model: ServedModel, max_batch: int) -> np.ndarray:
    """The ``raw`` input as the artifact's dtype and shape, values checked."""
    shape, dt = t["shape"], t["datatype"]
    want = [-1, *model.sample_shape]
    if len(shape) != len(want) or tuple(shape[1:]) != model.sample_shape:
        raise RequestError(400, f"input 'raw' shape {shape}; model {model.name} takes {want} (batch first)")
    if not 1 <= shape[0] <= max_batch:
        raise RequestError(
            400 if shape[0] < 1 else 413, f"batch of {shape[0]}; send 1 to {max_batch} rows per request"
        )
    floats = model.dtype.kind == "f"
    ok = {model.datatype, "FP32", "FP64"} if floats else {model.datatype}
    if dt not in ok:
        raise RequestError(
            400, f"input 'raw' datatype {str(dt)[:20]!r}; model {model.name} takes {' or '.join(sorted(ok))}"
        )
    items = _flat(t["data"], int(np.prod(shape)), "input 'raw'")
    if not all(type(v) in (int, float) for v in items):
        bad = next(v for v in items if type(v) not in (int, float))
        raise RequestError(
            400, f"input 'raw' holds a {type(bad).__name__} ({str(bad)[:20]!r}); data must be numbers"
        )
    x = np.asarray(items, dtype=np.float64)
    nan = np.isnan(x)
    if np.isinf(x).any() or (nan.any() and not model.allows_nan):
        what = "infinite" if np.isinf(x).any() else "NaN"
        extra = "" if model.allows_nan else " (only tabular models impute missing values)"
        raise RequestError(400, f"input 'raw' holds {what} values{extra}; send finite numbers")
    if not floats:
        info = np.iinfo(model.dtype)
        finite = x[~nan]
        if (finite != np.round(finite)).any() or finite.min() < info.min or finite.max() > info.max:
            raise RequestError(
                400,
                f"input 'raw' values must be integers in {info.min}..{info.max} "
                f"({model.datatype}), e.g. stored pixel values",
            )
    return x.reshape(shape).astype(model.dtype)


def dicom_array(t: dict[str, Any], model: ServedModel, max_batch: int) -> tuple[np.ndarray, list[str]]:
    """``dicom`` input (base64 DICOM files) decoded to the artifact's raw input; returns the array
    and each file's SOP Instance UID (the FHIR reference)."""
    from benchmarks.core.errors import OncobenchError
    from datasets.custom.common import resize_array
    from datasets.custom.dicom import dicom_pixels

    if t["datatype"] != "BYTES":
        raise RequestError(
            400, f"input 'dicom' datatype {str(t['datatype'])[:20]!r}; send BYTES (base64 DICOM files)"
        )
    shape = t["shape"]
    if len(shape) != 1 or not 1 <= shape[0] <= max_batch:
        raise RequestError(400, f"input 'dicom' shape {shape}; send [n] with n in 1..{max_batch}")
    items = _flat(t["data"], shape[0], "input 'dicom'")
    h, w, c = model.sample_shape if len(model.sample_shape) == 3 else (*model.sample_shape, 1)
    divisor = float(model.manifest["preprocessing"].get("pixel_divisor", 1.0))
    rows, refs = [], []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise RequestError(400, f"input 'dicom'[{i}] is a {type(item).__name__}; send base64 text")
        try:
            raw = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(
                400, f"input 'dicom'[{i}] is not valid base64; base64-encode the DICOM file's bytes"
            ) from None
        try:
            x01, _, facts = dicom_pixels(io.BytesIO(raw), f"input 'dicom'[{i}]")
        except OncobenchError as exc:
            raise RequestError(400, str(exc)) from None
        if x01.shape[:2] != (h, w):
            x01 = resize_array(x01[None], h)[0] if h == w else _resize_hw(x01, h, w)
        if x01.shape[-1] != c:
            x01 = np.repeat(x01, c, axis=-1) if c == 3 else x01.mean(axis=-1, keepdims=True)
        v = x01.astype(np.float64) * divisor
        rows.append(np.round(v) if model.dtype.kind in "ui" else v)
        refs.append(facts["sop_instance_uid"])
    x = np.stack(rows).reshape(len(rows), *model.sample_shape)
    return x.astype(model.dtype), refs


def _resize_hw(x: np.ndarray, h: int, w: int) -> np.ndarray:
    from PIL import Image

    chans = [
        np.asarray(Image.fromarray(x[..., k]).resize((w, h), Image.Resampling.BILINEAR))
        for k in range(x.shape[-1])
    ]
    return np.stack(chans, axis=-1).astype(np.float32)


def model_input(doc: dict[str, Any], model: ServedModel, max_batch: int) -> tuple[np.ndarray, list[str]]:
    """The request as the artifact's input array and each row's reference (DICOM SOP Instance
    UID, else the request id and row index)."""
    t = one_input(doc, model)
    if t["name"] == "dicom":
        return dicom_array(t, model, max_batch)
    x = raw_array(t, model, max_batch)
    rid = str(doc.get("id", "request"))[:64]
    return x, [f"{rid}#{i}" for i in range(len(x))]


def requested_outputs(doc: dict[str, Any]) -> list[str]:
    """The output names asked for (default: both)."""
    outs = doc.get("outputs")
    if outs is None:
        return ["probabilities", "predicted_class"]
    if not isinstance(outs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outs
    ):
        raise RequestError(400, "'outputs' must be a list of {\"name\": ...} objects")
    names = [o["name"] for o in outs]
    bad = [n for n in names if n not in ("probabilities", "predicted_class")]
    if bad:
        raise RequestError(400, f"unknown output {bad[0][:40]!r}; outputs: probabilities, predicted_class")
    return names
