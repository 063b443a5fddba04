"""Export and deployment benchmark (benchmarks/deploy): artifacts reproduce the record's test
predictions from raw stored inputs in a fresh process that imports only the runtime; bad input
exits 2 and leaves nothing half-written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("tf2onnx")
pytest.importorskip("skl2onnx")

from benchmarks.cli import main  # noqa: E402

# Runs every artifact of a folder with its runtime alone: Keras and the project are blocked
# (TensorFlow carries on without Keras); prints {format: probabilities} as JSON.
FRESH = r"""
import json, sys
for name in ("keras", "tf_keras", "benchmarks", "models", "datasets"):
    sys.modules[name] = None
import numpy as np
folder = sys.argv[1]
index = json.load(open(f"{folder}/manifest.json"))
x = np.load(f"{folder}/test_inputs.npy")
out = {}
for fmt, art in index["artifacts"].items():
    path = f"{folder}/{art['file']}"
    if art["runtime"] == "tensorflow":
        import tensorflow as tf
        fn = tf.saved_model.load(path).signatures["serving_default"]
        dtype = fn.structured_input_signature[1]["raw"].dtype
        p = next(iter(fn(raw=tf.constant(x, dtype=dtype)).values())).numpy()
    elif art["runtime"] == "ai-edge-litert":
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        builtin = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        it = Interpreter(model_path=path, experimental_op_resolver_type=builtin)
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        it.resize_tensor_input(i["index"], list(x.shape)); it.allocate_tensors()
        it.set_tensor(i["index"], x.astype(i["dtype"])); it.invoke()
        p = it.get_tensor(o["index"])
    else:
        import onnxruntime as ort
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [v.name for v in s.get_outputs()]
        name = "probabilities" if "probabilities" in names else names[-1]
        inp = s.get_inputs()[0]
        dtype = {"tensor(double)": np.float64, "tensor(float)": np.float32}.get(inp.type, x.dtype)
        p = s.run([name], {inp.name: x.astype(dtype)})[0]
    out[fmt] = np.asarray(p, dtype=float).tolist()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tf_keras", "benchmarks", "models",
                                                             "datasets") and sys.modules[m] is not None)
print(json.dumps({"probs": out, "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deploy") / "run"
    rc = main(["run", "--model", "logreg,dnn", "--dataset", "wisconsin", "--profile", "quick",
               "--epochs", "1", "--seeds", "0", "--output", str(out)])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def exported(run_dir: Path, tmp_path_factory) -> Path:
    art = tmp_path_factory.mktemp("artifacts")
    assert main(["export", "model", str(run_dir), "--dataset", "wisconsin", "--output", str(art)]) == 0
    return art


def _records(run_dir: Path) -> dict[str, dict]:
    doc = json.loads((run_dir / "results.json").read_text())
    return {r["model"]: r for r in doc["records"]}


def test_artifacts_reproduce_the_records_predictions_in_a_fresh_runtime_only_process(run_dir, exported):
    records = _records(run_dir)
    keras_formats = {"savedmodel", "tflite_float32", "tflite_dynamic_int8", "tflite_int8", "onnx"}
    for model, formats in (("dnn", keras_formats), ("logreg", {"onnx"})):
        folder = exported / f"{model}-wisconsin-s0"
        proc = subprocess.run([sys.executable, "-c", FRESH, str(folder)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": ""}, cwd=folder, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        assert got["loaded"] == []  # neither Keras nor the project was imported
        assert set(got["probs"]) == formats
        want = np.asarray(records[model]["test_scores"])
        labels = np.asarray(records[model]["test_labels"])
        for fmt, p in got["probs"].items():
            p = np.asarray(p)
            assert p.shape == want.shape
            if "int8" in fmt:  # quantised: the same decisions nearly everywhere
                assert np.mean(p.argmax(1) == want.argmax(1)) >= 0.9, fmt
            else:
                assert np.max(np.abs(p - want)) <= 1e-4, fmt
        assert len(labels) == len(want)


def test_manifest_and_model_card_describe_each_artifact(exported):
    folder = exported / "dnn-wisconsin-s0"
    index = json.loads((folder / "manifest.json").read_text())
    for art in index["artifacts"].values():
        m = json.loads((folder / f"{art['file']}.json").read_text())
        path = folder / art["file"]
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == art["sha256"] == m["artifact"]["sha256"]
        assert m["class_names"] == ["malignant", "benign"]
        assert m["input"]["shape"] == [None, 30] and m["input"]["dtype"] == "float32"
        acc = m["metrics"]["accuracy"]
        assert acc["ci95_low"] <= acc["value"] <= acc["ci95_high"]
        assert m["data"]["source"].startswith("UCI") and m["limits"] and m["not_for"]
        assert "standardise" in " ".join(m["preprocessing"]["steps"])
        assert (folder / f"{art['file']}.md").read_text().startswith("# Model card: dnn on wisconsin")
    assert json.loads((folder / "model_int8.tflite.json").read_text())["artifact"]["calibration_samples"] > 0
    assert not [p for p in exported.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_deploy_measures_each_format_into_the_record(run_dir, tmp_path, capsys):
    assert main(["deploy", str(run_dir), "--model", "logreg", "--output", str(tmp_path / "a"),
                 "--latency-calls", "20"]) == 0
    dep = _records(run_dir)["logreg"]["deployment"]
    row = dep["formats"]["onnx"]
    assert row["agreement"] == 1.0 and row["max_abs_diff"] <= 1e-4 and row["within_tolerance"]
    assert abs(row["delta_accuracy"]) < 1e-12 and row["size_bytes"] > 0
    assert 0 < row["latency_ms_p50"] <= row["latency_ms_p99"] and row["samples_per_s_1_thread"] > 0
    assert row["peak_rss_mb"] > 0 and row["project_modules_imported"] == []
    assert "| logreg" in (run_dir / "deployment.md").read_text()
    assert "onnx" in capsys.readouterr().out
    from benchmarks.report.build import write_report

    write_report(run_dir, tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    assert "### Deployment" in md and "| logreg | wisconsin | 0 | onnx |" in md
    assert (tmp_path / "report" / "figures" / "wisconsin-deployment.png").exists()


def _bad(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_bad_input_one_line_exit_2_nothing_written(run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    # an old run folder without checkpoints
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    shutil.rmtree(old / "checkpoints")
    export = ["export", "model"]
    assert "no saved checkpoint" in _bad([*export, str(old), "--model", "dnn", "--output", str(out)], capsys)
    # a failed record
    failed = tmp_path / "failed"
    shutil.copytree(run_dir, failed)
    doc = json.loads((failed / "results.json").read_text())
    for r in doc["records"]:
        r.update(status="failed", error="RuntimeError: boom")
    (failed / "results.json").write_text(json.dumps(doc))
    assert "the record failed" in _bad(["deploy", str(failed), "--output", str(out)], capsys)
    # an unsupported pair: LiteRT for a scikit-learn model
    assert "none of the requested formats" in _bad(
        [*export, str(run_dir), "--model", "logreg", "--formats", "tflite_int8", "--output", str(out)],
        capsys)
    assert "unknown format" in _bad(["deploy", str(run_dir), "--formats", "pt"], capsys)
    assert "no record" in _bad(["export", "model", str(run_dir), "--model", "cnn"], capsys)
    assert not out.exists()
    # an output that cannot be a folder (a file in the way)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert "is a file" in _bad([*export, str(run_dir), "--model", "logreg", "--output", str(blocker / "a")],
                               capsys)
    # an unwritable output folder
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: permissions are not enforced")
        assert "not writable" in _bad(["export", "model", str(run_dir), "--model", "logreg", "--output",
                                       str(ro / "x")], capsys)
    finally:
        ro.chmod(0o700)


def test_a_failing_converter_leaves_no_half_written_folder(run_dir, tmp_path, monkeypatch):
    from benchmarks.core.errors import OncobenchError
    from benchmarks.deploy import artifacts
    from benchmarks.deploy.folder import export_folder

    def boom(*_a, **_k):
        raise OncobenchError("converter exploded")

    monkeypatch.setattr(artifacts, "_sklearn_onnx", boom)
    with pytest.raises(OncobenchError, match="exploded"):
        export_folder(run_dir, model="logreg", output=tmp_path / "art", log=lambda s: None)
    assert list((tmp_path / "art").iterdir()) == []


def test_deployable_graph_runs_batch_norm_in_inference_mode_without_augmentation(tmp_path):
    """An exported signature calls the model with training=None: batch norm must still use its
    moving statistics (one sample alone = the same sample in a batch = Keras), and augmentation
    layers (no LiteRT kernels) are gone."""
    import keras
    import tensorflow as tf

    from benchmarks.deploy.preprocessing import Prep, inference_only, keras_deployable

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    x = keras.layers.RandomFlip("horizontal", name="aug_flip")(inp)
    x = keras.layers.Conv2D(4, 3, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
    bn = model.get_layer("bn")
    bn.moving_mean.assign(np.full(4, 0.3, np.float32))
    bn.moving_variance.assign(np.full(4, 2.0, np.float32))
    spec = Prep("image", "uint8", (8, 8, 1), scale=np.array([255.0]))
    raw = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 1), dtype=np.uint8)
    want = model.predict_on_batch(raw.astype(np.float32) / 255)
    assert inference_only(model)[1] == ["aug_flip"]
    keras_deployable(spec, model, 3, "d").export(str(tmp_path / "sm"), format="tf_saved_model", verbose=False)
    fn = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    batch = next(iter(fn(raw=tf.constant(raw)).values())).numpy()
    one = next(iter(fn(raw=tf.constant(raw[:1])).values())).numpy()
    np.testing.assert_allclose(batch, want, atol=1e-5)
    np.testing.assert_allclose(one[0], want[0], atol=1e-5)


def test_run_deploy_measures_every_record_of_the_run(tmp_path, capsys):
    """``run --deploy``: the run, then every finished record exported and measured."""
    out = tmp_path / "run"
    assert main(["run", "--model", "logreg", "--dataset", "wisconsin", "--profile", "quick", "--deploy",
                 "--output", str(out)]) == 0
    (rec,) = json.loads((out / "results.json").read_text())["records"]
    assert rec["deployment"]["formats"]["onnx"]["agreement"] == 1.0
    assert (out / "deployment.md").exists() and "deployment:" in capsys.readouterr().out


def test_a_missing_value_is_imputed_by_every_float_artifact_of_the_dnn(exported, tmp_path):
    """NaN in the raw input is imputed inside each artifact (the manifest's promise): the Keras
    ONNX export lowered the fill's select to arithmetic, where NaN survived (NaN scores)."""
    import shutil

    folder = tmp_path / "dnn"
    shutil.copytree(exported / "dnn-wisconsin-s0", folder)
    x = np.load(folder / "test_inputs.npy").astype(np.float64)
    x[0, 3], x[1, :10], x[2, ::3] = np.nan, np.nan, np.nan
    np.save(folder / "test_inputs.npy", x)
    proc = subprocess.run([sys.executable, "-c", FRESH, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ""}, cwd=folder, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    probs = {k: np.asarray(v) for k, v in json.loads(proc.stdout.strip().splitlines()[-1])["probs"].items()}
    for fmt, p in probs.items():
        assert np.isfinite(p).all(), fmt
    for fmt in ("onnx", "tflite_float32"):
        assert np.max(np.abs(probs[fmt] - probs["savedmodel"])) <= 1e-4, fmt


def test_the_onnx_nan_fill_is_given_in_raw_units_before_clip_and_log2():
    """Golub's artifacts clip, take log2, then fill: the fill put first is 2 ** fill, so the graph
    still maps a missing value to the fill value."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from benchmarks.deploy.preprocessing import Prep, onnx_nan_fill

    fill = np.array([3.0, 7.5], dtype=np.float64)
    spec = Prep(kind="tabular", input_dtype="float32", input_shape=(2,), clip=(1.0, 1000.0), log2=True,
                fill=fill, keep=np.array([0, 1]), mean=np.zeros(2), scale=np.ones(2))
    consts = [numpy_helper.from_array(np.array(v, np.float32), n)
              for n, v in (("lo", 1.0), ("hi", 1000.0), ("ln2", np.log(2)))]
    graph = helper.make_graph(
        [helper.make_node("Clip", ["raw", "lo", "hi"], ["c"]), helper.make_node("Log", ["c"], ["l"]),
         helper.make_node("Div", ["l", "ln2"], ["out"])], "g",
        [helper.make_tensor_value_info("raw", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 2])], consts)
    onnx_nan_fill(spec, graph)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = s.run(None, {"raw": np.array([[np.nan, 16.0], [4.0, np.nan]], np.float32)})[0]
    np.testing.assert_allclose(out, [[3.0, 4.0], [2.0, 7.5]], atol=1e-5)
