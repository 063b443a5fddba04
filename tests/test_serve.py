"""Serving (benchmarks/serve): the v2 REST endpoints with a plain HTTP client and tritonclient,
malformed requests answered 4xx, DICOM in (folder: and the server), FHIR R4 out, the load test.
Servers bind 127.0.0.1 on a free port and are stopped by the fixtures."""

from __future__ import annotations

import base64
import importlib.util
import json
import random
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")
pydicom = pytest.importorskip("pydicom")
pytest.importorskip("fhir.resources")
if importlib.util.find_spec("locust") is None:  # not imported here: locust monkey-patches with gevent
    pytest.skip("locust is not installed (pip install 'oncobench[serve]')", allow_module_level=True)

from pydicom.data import get_testdata_file  # noqa: E402

from benchmarks.cli import main  # noqa: E402
from benchmarks.core.errors import DataError  # noqa: E402
from datasets.custom.dicom import dicom_pixels  # noqa: E402

N_PER_CLASS = 12


def _variant(src: str, k: int, out: Path, mono1: bool = False) -> Path:
    """A single-frame DICOM derived from pydicom's test file ``src``: pixels rotated/flipped by
    ``k``, a fresh SOP Instance UID; MONOCHROME1 when asked."""
    ds = pydicom.dcmread(get_testdata_file(src))
    arr = ds.pixel_array
    arr = np.rot90(arr, k % 4)
    arr = np.ascontiguousarray(arr[:, ::-1] if k >= 4 else arr)
    ds.PixelData = arr.astype(ds.pixel_array.dtype).tobytes()
    ds.Rows, ds.Columns = arr.shape
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    if mono1:
        ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(out)
    return out


@pytest.fixture(scope="module")
def dicom_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dicom") / "scans"
    for cls, src in (("ct", "CT_small.dcm"), ("mr", "MR_small.dcm")):
        (root / cls).mkdir(parents=True)
        for k in range(N_PER_CLASS):
            _variant(src, k, root / cls / f"{k:02d}.dcm", mono1=(k == 7))
    return root


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, dicom_folder) -> Path:
    """Two runs (cnn on the DICOM folder, dnn on Golub; 1 epoch) exported to ``artifacts/``."""
    out = tmp_path_factory.mktemp("serve")
    (out / "artifacts").mkdir()  # export model --output wants an existing folder
    cnn = ["cnn", f"folder:{dicom_folder}", "--image-size", "32"]
    for model, dataset, *extra in (cnn, ["dnn", "golub"]):
        args = ["run", "--model", model, "--dataset", dataset, *extra, "--profile", "quick", "--epochs", "1"]
        assert main([*args, "--seeds", "0", "--output", str(out / model)]) == 0
        assert (
            main(
                ["export", "model", str(out / model), "--formats", "onnx", "--output", str(out / "artifacts")]
            )
            == 0
        )
    return out


def _folder_model(run_dir: Path) -> str:
    return next(p.name for p in (run_dir / "artifacts").iterdir() if p.name.startswith("cnn-"))


@pytest.fixture(scope="module")
def server(run_dir):
    from benchmarks.serve.loadtest import free_port, start_server, stop_server

    port = free_port()
    proc = start_server([str(run_dir / "artifacts")], port, ["--max-body-mb", "4"], run_dir / "server.log")
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)
    assert proc.returncode is not None


def _call(url: str, body: bytes | None = None, ctype: str | None = "application/json") -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    if ctype and body is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def _records(run_dir: Path) -> dict[str, dict]:
    docs = [json.loads((run_dir / m / "results.json").read_text()) for m in ("cnn", "dnn")]
    return {r["model"]: r for d in docs for r in d["records"]}


# ------------------------------------------------------------------------------------------- DICOM
def test_dicom_pixels_modality_lut_windowing_monochrome1_and_multiframe():
    mr = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    c, w = float(mr.WindowCenter), float(mr.WindowWidth)

    def window(v: np.ndarray) -> np.ndarray:  # DICOM PS3.3 C.11.2.1.2.1, linear, to [0, 1]
        return np.clip((v - (c - 0.5)) / (w - 1) + 0.5, 0, 1)

    got, bits, facts = dicom_pixels(get_testdata_file("MR_small.dcm"), "mr")
    assert got.shape == (64, 64, 1) and bits == 16 and facts["voi"].startswith("window center 600")
    assert np.allclose(got[..., 0], window(mr.pixel_array.astype(float)), atol=1e-3)
    mr.RescaleSlope, mr.RescaleIntercept = 2, -100  # the modality LUT comes before the window
    from io import BytesIO

    buf = BytesIO()
    mr.save_as(buf)
    buf.seek(0)
    got2, _, facts2 = dicom_pixels(buf, "mr2")
    assert facts2["modality_lut"] == "rescale slope 2, intercept -100"
    assert np.allclose(got2[..., 0], window(2.0 * mr.pixel_array - 100), atol=1e-3)
    assert not np.allclose(got, got2, atol=1e-2)

    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    mono2, _, _ = dicom_pixels(get_testdata_file("CT_small.dcm"), "ct")
    ct.PhotometricInterpretation = "MONOCHROME1"
    buf = BytesIO()
    ct.save_as(buf)
    buf.seek(0)
    mono1, _, _ = dicom_pixels(buf, "ct1")
    assert np.allclose(mono1, 1.0 - mono2, atol=1e-6) and mono2.min() == 0.0 and mono2.max() == 1.0

    with pytest.raises(DataError, match="multi-frame DICOM \\(15 frames\\) is refused"):
        dicom_pixels(get_testdata_file("rtdose.dcm"), "rtdose")
    with pytest.raises(DataError, match="no image"):
        dicom_pixels(get_testdata_file("rtplan.dcm"), "rtplan")
    with pytest.raises(DataError, match="not a readable DICOM"):
        dicom_pixels(BytesIO(b"not a dicom file at all"), "garbage")


def test_dicom_folder_runs_through_run(run_dir, dicom_folder):
    rec = _records(run_dir)["cnn"]
    assert rec["status"] == "ok" if "status" in rec else True
    assert rec["n_test"] if "n_test" in rec else len(rec["test_labels"]) > 0
    assert rec["data"]["n_train"] + rec["data"]["n_val"] + rec["data"]["n_test"] == 2 * N_PER_CLASS


# ----------------------------------------------------------------------------------- v2 endpoints
def test_v2_endpoints_with_a_plain_http_client(server, run_dir):
    assert _call(f"{server}/v2/health/live") == (200, {"live": True})
    assert _call(f"{server}/v2/health/ready") == (200, {"ready": True})
    recs = _records(run_dir)
    for model in ("dnn-golub-s0", _folder_model(run_dir)):
        status, md = _call(f"{server}/v2/models/{model}")
        assert status == 200 and md["name"] == model and md["inputs"][0]["name"] == "raw"
        folder = run_dir / "artifacts" / model
        x = np.load(folder / "test_inputs.npy")
        body = {
            "id": "t1",
            "inputs": [
                {
                    "name": "raw",
                    "shape": list(x.shape),
                    "datatype": md["inputs"][0]["datatype"],
                    "data": x.ravel().tolist(),
                }
            ],
        }
        status, out = _call(f"{server}/v2/models/{model}/infer", json.dumps(body).encode())
        assert status == 200, out
        probs = np.asarray(out["outputs"][0]["data"]).reshape(out["outputs"][0]["shape"])
        want = np.asarray(recs[model.split("-")[0]]["test_scores"])
        assert probs.shape == want.shape and np.max(np.abs(probs - want)) <= 1e-4
        assert out["outputs"][1]["data"] == [
            json.loads(md["parameters"]["class_names"])[k] for k in want.argmax(1)
        ]
        assert out["id"] == "t1" and out["model_version"] == md["versions"][0]


def test_v2_endpoints_with_tritonclient(server, run_dir):
    httpclient = pytest.importorskip("tritonclient.http")
    client = httpclient.InferenceServerClient(server.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("dnn-golub-s0")
    md = client.get_model_metadata("dnn-golub-s0")
    assert md["inputs"][0]["datatype"] == "FP32"
    x = np.load(run_dir / "artifacts" / "dnn-golub-s0" / "test_inputs.npy").astype(np.float32)[:3]
    inp = httpclient.InferInput("raw", list(x.shape), "FP32")
    inp.set_data_from_numpy(x, binary_data=False)
    res = client.infer(
        "dnn-golub-s0", [inp], outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=False)]
    )
    want = np.asarray(_records(run_dir)["dnn"]["test_scores"])[:3]
    assert np.max(np.abs(res.as_numpy("probabilities") - want)) <= 1e-4
    client.close()


def _malformed(model: str, shape: list[int]) -> list[tuple[str, bytes, str | None]]:
    """50 malformed requests: (path, body, content type)."""
    rng = random.Random(0)
    n = int(np.prod(shape))
    good = {"name": "raw", "shape": [1, *shape], "datatype": "FP32", "data": [0.5] * n}

    path = f"/v2/models/{model}/infer"
    cases: list[tuple[str, bytes, str | None]] = []

    def add(doc, p=path, ctype="application/json"):
        cases.append((p, doc if isinstance(doc, bytes) else json.dumps(doc).encode(), ctype))

    for d in ([1, n + 1], [2, *shape], [1], [n], [0, *shape], [-1, *shape], [1, *shape, 1], "1,2", [1.5, n]):
        add({"inputs": [{**good, "shape": d}]})
    for dt in ("INT64", "UINT8", "BYTES", "FP128", "", 7, None, "fp32"):
        add({"inputs": [{**good, "datatype": dt}]})
    for bad in (float("nan"), float("inf"), -float("inf"), "x", None, True, [1, [2]], {"a": 1}):
        data = [0.5] * n
        data[rng.randrange(n)] = bad
        cases.append((path, json.dumps({"inputs": [{**good, "data": data}]}).encode(), "application/json"))
    for key in ("name", "shape", "datatype", "data"):
        add({"inputs": [{k: v for k, v in good.items() if k != key}]})
    add({})
    add({"inputs": []})
    add({"inputs": [good, good]})
    add({"inputs": "raw"})
    add({"inputs": [{**good, "name": "pixels"}]})
    add({"inputs": [{**good, "name": "dicom", "datatype": "BYTES", "shape": [1], "data": ["AAAA"]}]})
    add({"inputs": [good], "outputs": [{"name": "logits"}]})
    add({"inputs": [{**good, "data": [0.5] * (n - 1)}]})
    add([good])
    add(b'{"inputs": [')
    add(b"\xff\xfe garbage \x00")
    add(b"")
    add(b"[" * 100_000 + b"]" * 100_000)  # deep nesting
    add(b"x" * (5 * 1024 * 1024))  # oversized body (the server runs with --max-body-mb 4)
    add({"inputs": [good]}, ctype="text/plain")
    add({"inputs": [good]}, ctype="application/xml")
    add({"inputs": [good]}, p="/v2/models/no-such-model/infer")
    add({"inputs": [good]}, p=f"/v2/models/{model}/versions/0/infer")
    add({"inputs": [good]}, p="/v2/models/../../etc/passwd/infer")
    add({"inputs": [{**good, "shape": [10_000, *shape], "data": [0.5]}]})
    add(
        b'{"inputs": [{"name": "raw", "shape": [1, '
        + ", ".join(map(str, shape)).encode()
        + b'], "datatype": "FP32", "data": ['
        + b",".join([b"1e400"] * n)
        + b"]}]}"
    )
    return cases


def test_fifty_malformed_requests_are_4xx_and_the_server_stays_ready(server, run_dir):
    model = _folder_model(run_dir)  # an image model: NaN is malformed there
    shape = _call(f"{server}/v2/models/{model}")[1]["inputs"][0]["shape"][1:]
    cases = _malformed(model, shape)
    assert len(cases) == 50
    statuses = []
    for path, body, ctype in cases:
        status, out = _call(server + path, body, ctype)
        statuses.append(status)
        assert 400 <= status < 500, (path, body[:120], status, out)
        msg = out.get("error", "")
        assert msg and "\n" not in msg and "Traceback" not in msg, out
    assert _call(f"{server}/v2/health/ready") == (200, {"ready": True})
    assert _call(f"{server}/v2")[1]["errors_5xx"] == 0
    # NaN in a tabular input is a missing value the artifact imputes (the manifest says so)
    model = "dnn-golub-s0"
    shape = _call(f"{server}/v2/models/{model}")[1]["inputs"][0]["shape"][1:]
    n = int(np.prod(shape))
    data = [0.5] * n
    data[3] = float("nan")
    good = {"inputs": [{"name": "raw", "shape": [1, *shape], "datatype": "FP32", "data": data}]}
    status, out = _call(f"{server}/v2/models/{model}/infer", json.dumps(good).encode())
    # imputed inside the ONNX artifact (its first nodes fill NaN: deploy.preprocessing.onnx_nan_fill)
    assert status == 200 and np.isfinite(out["outputs"][0]["data"]).all(), (status, out)
    assert _call(f"{server}/v2")[1]["errors_5xx"] == 0


# -------------------------------------------------------------------------------- DICOM in, FHIR out
def test_dicom_through_the_server_and_a_valid_fhir_report(server, run_dir, dicom_folder):
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport

    from datasets.custom.folder import _image_array

    model = _folder_model(run_dir)
    files = [dicom_folder / "ct" / "07.dcm", dicom_folder / "mr" / "03.dcm"]
    body = {
        "id": "scan",
        "inputs": [
            {
                "name": "dicom",
                "shape": [2],
                "datatype": "BYTES",
                "parameters": {"content_type": "base64"},
                "data": [base64.b64encode(f.read_bytes()).decode() for f in files],
            }
        ],
    }
    status, out = _call(f"{server}/v2/models/{model}/infer", json.dumps(body).encode())
    assert status == 200, out
    via_dicom = np.asarray(out["outputs"][0]["data"]).reshape(2, -1)
    x = np.stack([_image_array(f, 32, False)[0] for f in files])  # what folder: fed the model
    raw = {
        "inputs": [{"name": "raw", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}]
    }
    via_raw = np.asarray(
        _call(f"{server}/v2/models/{model}/infer", json.dumps(raw).encode())[1]["outputs"][0]["data"]
    )
    assert np.max(np.abs(via_dicom.ravel() - via_raw)) <= 1e-5

    status, report = _call(f"{server}/v2/models/{model}/fhir", json.dumps(body).encode())
    assert status == 200, report
    DiagnosticReport.model_validate(report)  # raises on an invalid resource
    obs = [r for r in report["contained"] if r["resourceType"] == "Observation"]
    assert len(obs) == 2 and len(report["result"]) == 2
    uid = str(pydicom.dcmread(files[0]).SOPInstanceUID)
    assert obs[0]["derivedFrom"][0]["identifier"]["value"] == f"urn:oid:{uid}"
    assert obs[0]["valueCodeableConcept"]["text"] in ("ct", "mr")
    probs = [c["valueQuantity"]["value"] for c in obs[0]["component"]]
    assert abs(sum(probs) - 1) < 1e-4 and np.allclose(probs, via_dicom[0], atol=1e-6)
    device = next(r for r in report["contained"] if r["resourceType"] == "Device")
    sha = json.loads((run_dir / "artifacts" / model / "model.onnx.json").read_text())["artifact"]["sha256"]
    assert sha in device["version"][0]["value"]
    bad = {
        "inputs": [
            {
                **body["inputs"][0],
                "shape": [1],
                "data": [base64.b64encode(Path(get_testdata_file("rtdose.dcm")).read_bytes()).decode()],
            }
        ]
    }
    status, err = _call(f"{server}/v2/models/{model}/infer", json.dumps(bad).encode())
    assert status == 400 and "multi-frame" in err["error"]


def test_offline_fhir_report_validates(run_dir):
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport

    from benchmarks.serve.fhir import diagnostic_report

    folder = run_dir / "artifacts" / "dnn-golub-s0"
    manifest = json.loads((folder / "model.onnx.json").read_text())
    probs = np.asarray(_records(run_dir)["dnn"]["test_scores"])[:4]
    report = diagnostic_report(manifest, probs, [f"sample-{i}" for i in range(4)])
    assert DiagnosticReport.model_validate(report).status == "preliminary"
    assert [o["valueCodeableConcept"]["text"] for o in report["contained"][1:]] == [
        manifest["class_names"][k] for k in probs.argmax(1)
    ]


# ------------------------------------------------------------------------------------------ load test
def test_loadtest_writes_percentiles_without_errors(run_dir, tmp_path, capsys):
    out = tmp_path / "lt"
    assert (
        main(
            [
                "serve",
                str(run_dir / "artifacts" / "dnn-golub-s0"),
                "--loadtest",
                "--concurrency",
                "1,4",
                "--requests",
                "60",
                "--rates",
                "20",
                "--max-seconds",
                "20",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads((out / "loadtest.json").read_text())
    rows = doc["records"]
    assert [(r["scenario"], r["users"]) for r in rows] == [
        ("concurrency", 1),
        ("concurrency", 4),
        ("target_rate", 32),
    ]
    for r in rows:
        assert r["errors"] == 0 and r["requests"] >= 50
        assert 0 < r["latency_ms_p50"] <= r["latency_ms_p95"] <= r["latency_ms_p99"]
        assert r["throughput_rps"] > 0 and r["server_peak_rss_mb"] > 50
    assert rows[0]["requests"] == 60
    assert (out / "loadtest.png").stat().st_size > 1000
    assert "| dnn-golub-s0 | onnx | concurrency 1 |" in capsys.readouterr().out


def test_serve_refuses_a_folder_without_artifacts(tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no exported artifacts" in err[0]
