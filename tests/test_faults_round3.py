"""Issue 27 (bad input and faults, round three): one test per root cause, each failing on the code
before the fix. Bad input ends in one line ``error: ...`` and exit 2, before anything trains."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.cli import main

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["run", "--model", "logreg", "--dataset", "wisconsin", "--profile", "quick"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}


def one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert lines and lines[-1].startswith("error: "), err
    assert "Traceback" not in err, err
    short = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/ ]+", "/tmp/t", lines[-1])  # short paths
    assert len(short) < 300, lines[-1]
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if anything reaches the executor (bad values must be refused before it)."""
    import benchmarks.execution.runner as runner

    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("trained despite a bad value"))


# --- cause 1: two runs writing one folder ----------------------------------------------------------

def _run_proc(out: Path, seeds: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "benchmarks", *QUICK, "--seeds", seeds, "--output", str(out)]
    return subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_concurrent_runs_on_one_folder_lose_no_record(tmp_path):
    out = tmp_path / "shared"
    first, second = _run_proc(out, "0,1,2,3"), _run_proc(out, "4,5,6,7")
    results = [(p.wait(timeout=300), *p.communicate()) for p in (first, second)]
    ok = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] != 0]
    assert len(ok) >= 1, results
    for rc, _, err in refused:  # the loser is refused in one line, before training
        assert rc == 2, err[-2000:]
        last = err.strip().splitlines()[-1]
        assert last.startswith("error: --output") and "in use by oncobench pid" in last, err[-2000:]
        assert "Traceback" not in err
    keys = {r["key"] for r in json.loads((out / "results.json").read_text())["records"]}
    want = {f"logreg|wisconsin|{s}|-" for s in range(8)} if not refused else None
    if want is not None:
        assert keys == want
    else:  # the refused run wrote nothing; the winner's four records are all there
        assert len(keys) == 4, keys
    assert not (out / ".oncobench.lock").exists()


def test_the_folder_lock_refuses_a_second_holder_and_frees_on_exit(tmp_path, capsys):
    from benchmarks.core import folder_lock

    out = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from benchmarks.core import folder_lock; "
         f"folder_lock.acquire({str(out)!r}); print('held', flush=True); time.sleep(60)"],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main([*QUICK, "--output", str(out)]) == 2
        one_line_error(capsys, str(out), "in use by oncobench pid", "choose another folder")
        assert not (out / "results.json").exists()
    finally:
        holder.kill()
        holder.wait()
    with folder_lock.locked(out):  # the kernel dropped the dead holder's lock
        assert folder_lock.holds(out)
    assert not folder_lock.holds(out)


# --- cause 3: every value checked wherever it comes from -----------------------------------------
# (a few cases below were already refused before issue 27 and stay as regression cases: a suite's
# [hparams]/[recipes] keys, a non-numeric or negative [training] learning rate, hparams = 3)

def _tuned_file(tmp_path: Path, entry: dict, key: str = "logreg|wisconsin") -> Path:
    path = tmp_path / "tuned.json"
    path.write_text(json.dumps({"format": 1, "meta": {}, "pairs": {key: entry}}))
    return path


TUNED = [
    ({"hparams": {}, "recipe": {}, "learning_rate": -1}, "dnn|wisconsin", "learning_rate"),
    ({"hparams": {}, "recipe": {}, "learning_rate": "fast"}, "dnn|wisconsin", "learning_rate"),
    ({"hparams": {"dropout": 7}, "recipe": {}, "learning_rate": None}, "dnn|wisconsin", "dropout"),
    ({"hparams": {"nonsense": 1}, "recipe": {}, "learning_rate": None}, "dnn|wisconsin", "nonsense"),
    ({"hparams": {}, "recipe": {"label_smoothing": 3}, "learning_rate": None}, "dnn|wisconsin",
     "label_smoothing"),
    (7, "dnn|wisconsin", "expected a table"),
    ({"hparams": [1, 2]}, "dnn|wisconsin", "hparams"),
    ({"recipe": "fast"}, "dnn|wisconsin", "recipe"),
    ({"hparams": {"C": 1.0}}, "nosuchmodel|wisconsin", "nosuchmodel"),
    ({"hparams": {"C": 1.0}}, "logreg", "MODEL|DATASET"),
]


@pytest.mark.parametrize("entry,key,needle", TUNED, ids=[str(i) for i in range(len(TUNED))])
def test_tuned_file_values_are_checked_before_training(entry, key, needle, tmp_path, capsys, no_training):
    path = _tuned_file(tmp_path, entry, key)
    rc = main(["run", "--model", "dnn", "--dataset", "wisconsin", "--tuned", str(path),
               "--output", str(tmp_path / "run")])
    assert rc == 2
    one_line_error(capsys, needle)
    assert not (tmp_path / "run").exists()


SUITES = [
    ('[tuned."dnn|wisconsin"]\nlearning_rate = -1\n', "learning_rate"),
    ('[tuned."dnn|wisconsin".hparams]\ndropout = 7.0\n', "dropout"),
    ('[tuned."dnn|wisconsin"]\nhparams = 3\n', "hparams"),
    ('[hparams.dnn]\nnonsense = 1\n', "nonsense"),
    ('[recipes.dnn]\nschedule = "sometimes"\n', "sometimes"),
    ('[training]\nlearning_rate = "fast"\n', "learning_rate"),
    ('[training]\nlearning_rate = -0.5\n', "--lr"),
    ('[training]\nscaling = true\n', "--scaling"),
    ('[[federated]]\nstrategy = "fedadam"\nserver_lr = -1.0\n', "--server-lr"),
    ('[[federated]]\nstrategy = "fedprox"\nproximal_mu = nan\n', "--proximal-mu"),
    ('seeds = [4294967296]\n', "2^32"),
    ('[data]\nval_fraction = 0.7\ntest_fraction = 0.6\n', "fraction"),
    ('[data]\nval_fraction = -0.5\n', "val_fraction"),
    ('[data]\ntest_fraction = 0.0\n', "test_fraction"),
]


@pytest.mark.parametrize("text,needle", SUITES, ids=[str(i) for i in range(len(SUITES))])
def test_suite_file_values_are_checked_before_training(text, needle, tmp_path, capsys, no_training):
    path = tmp_path / "suite.toml"
    path.write_text('models = ["dnn"]\ndatasets = ["wisconsin"]\n' + text)
    assert main(["run", "--config", str(path), "--output", str(tmp_path / "run")]) == 2
    one_line_error(capsys, needle)


FLAGS = [
    (["--federated", "fedadam", "--server-lr", "-1"], "--server-lr"),
    (["--federated", "fedadam", "--server-lr", "inf"], "--server-lr"),
    (["--federated", "fedprox", "--proximal-mu", "nan"], "--proximal-mu"),
    (["--federated", "fedprox", "--proximal-mu", "-1"], "--proximal-mu"),
    (["--scaling"], "--scaling"),
    (["--seeds", "4294967296"], "2^32"),
    (["--model", "", "--dataset", "wisconsin"], "--model"),
    (["--model", ",", "--dataset", "wisconsin"], "--model"),
    (["--model", "logreg", "--dataset", ""], "--dataset"),
    (["--model", "mobilenet_v2_hub", "--dataset", "breastmnist", "--hub-handle", "/no/such/model"],
     "/no/such/model"),
]


@pytest.mark.parametrize("extra,needle", FLAGS, ids=[" ".join(a) for a, _ in FLAGS])
def test_flag_values_are_checked_before_training(extra, needle, tmp_path, capsys, no_training):
    argv = ["run", "--dataset", "wisconsin", "--model", "dnn", *extra] if "--model" not in extra \
        else ["run", *extra]
    assert main([*argv, "--profile", "quick", "--output", str(tmp_path / "run")]) == 2
    one_line_error(capsys, needle)


@pytest.mark.parametrize("budget", ["nan", "inf", "-1"])
def test_tune_budget_must_be_finite_and_positive(budget, tmp_path, capsys):
    pytest.importorskip("optuna")
    assert main(["tune", "--model", "logreg", "--dataset", "wisconsin", "--budget-s", budget,
                 "--output", str(tmp_path / "t")]) == 2
    one_line_error(capsys, "--budget-s")


@pytest.mark.parametrize("command", [["tune", "--model", "logreg", "--dataset", "wisconsin", "--trials", "1"],
                                     ["speed", "--model", "dnn", "--dataset", "wisconsin"]])
def test_tune_and_speed_refuse_a_negative_seed(command, capsys):
    if command[0] == "tune":
        pytest.importorskip("optuna")
    assert main([*command, "--seed", "-1"]) == 2
    one_line_error(capsys, "--seed -1")


def test_python_api_values_go_through_the_same_checks(tmp_path, no_training):
    from benchmarks import api
    from benchmarks.core.errors import OncobenchError

    with pytest.raises(OncobenchError, match="dropout"):
        api.run("dnn", "wisconsin", hparams={"dnn": {"dropout": 7}}, output=tmp_path / "a")
    with pytest.raises(OncobenchError, match="--lr"):
        api.run("dnn", "wisconsin", learning_rate=-1, output=tmp_path / "b")
    assert not (tmp_path / "a").exists()


def test_a_model_listed_twice_runs_once():
    from benchmarks import api

    assert api.suite(["logreg", "logreg", " logreg"], "wisconsin").models == ("logreg",)


# --- cause 5: Ctrl-C during tune keeps the finished trials; a rerun resumes them -----------------

def _stored_trials(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_ctrl_c_during_tune_then_resume(tmp_path):
    import signal

    pytest.importorskip("optuna")
    out = tmp_path / "tune"
    argv = [sys.executable, "-m", "benchmarks", "tune", "--model", "logreg", "--dataset", "wisconsin",
            "--trials", "100000", "--output", str(out)]  # more than can finish before the Ctrl-C
    # SIGINT as in a terminal: a test run started in the background by a non-interactive shell
    # (`pytest &`) hands its children SIGINT ignored, and the tune then ran all its trials
    proc = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while _stored_trials(out / "optuna.db") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert "finished trials are stored in sqlite:///" in err and "resume with:" in err, err[-2000:]
    kept = _stored_trials(out / "optuna.db")
    assert kept >= 3
    # the rerun (fewer trials asked than kept + 2) resumes the stored study and adds two trials
    again = subprocess.run([*argv[:-4], "--trials", str(kept + 2), "--output", str(out)], cwd=ROOT, env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming {kept} finished trial(s)" in again.stderr, again.stderr[-2000:]
    doc = json.loads((out / "tuned.json").read_text())
    entry = doc["pairs"]["logreg|wisconsin"]
    assert entry["trials"] >= kept + 2 and entry["default_value"] is not None
    assert _stored_trials(out / "optuna.db") == kept + 2


# --- cause 7: a results folder runs no code without consent ---------------------------------------

MARKER_PLUGIN = '''\
import os
from pathlib import Path

Path(os.environ["ONCOBENCH_TEST_MARKER"]).write_text("imported")
'''


def _folder_with_plugin(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A run folder (as received from someone) whose suite.toml names a plugin that leaves a mark."""
    run = tmp_path / "received"
    assert main([*QUICK, "--seeds", "0", "--output", str(run)]) == 0
    plugin = tmp_path / "theirs.py"
    plugin.write_text(MARKER_PLUGIN)
    suite = run / "suite.toml"
    suite.write_text(suite.read_text().replace("plugins = []", f"plugins = [{json.dumps(str(plugin))}]"))
    assert str(plugin) in suite.read_text()
    return run, plugin, tmp_path / "marker"


def test_a_results_folder_imports_no_plugin_without_consent(tmp_path, capsys, monkeypatch):
    run, plugin, marker = _folder_with_plugin(tmp_path)
    monkeypatch.setenv("ONCOBENCH_TEST_MARKER", str(marker))
    capsys.readouterr()
    # run --config FOLDER/suite.toml: refused in one line naming the plugin, nothing imported
    assert main(["run", "--config", str(run / "suite.toml"), "--output", str(tmp_path / "again")]) == 2
    one_line_error(capsys, "theirs.py", "--trust-plugins")
    assert not marker.exists()
    # explain: the records need no plugin, so it explains without importing it
    assert main(["explain", str(run), "--method", "permutation", "--samples", "10", "--no-sanity"]) == 0
    assert not marker.exists()
    # consent: --trust-plugins imports it, and says what it imports
    assert main(["explain", str(run), "--method", "permutation", "--samples", "10", "--no-sanity",
                 "--trust-plugins"]) == 0
    assert marker.read_text() == "imported"
    assert f"--trust-plugins: importing {plugin}" in capsys.readouterr().err


def test_readme_says_a_folder_needs_consent_to_run_plugins():
    text = (ROOT / "README.md").read_text()
    assert "--trust-plugins" in text


# --- cause 8: stale answers -------------------------------------------------------------------------

def _csv(path: Path, shift: float = 0.0) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["label,g1,g2,g3"] + [f"{'a' if i % 2 else 'b'},"
                                 + ",".join(f"{v + i % 2 + shift:.4f}" for v in rng.normal(size=3))
                                 for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_finished_resume_still_checks_the_data(tmp_path, capsys):
    data = _csv(tmp_path / "cohort.csv")
    argv = ["run", "--model", "logreg", "--dataset", f"csv:{data}", "--label-column", "label",
            "--profile", "quick", "--seeds", "0", "--output", str(tmp_path / "run")]
    assert main(argv) == 0
    _csv(data, shift=5.0)  # the file changed; every job of the run is already done
    capsys.readouterr()
    assert main(argv) == 2
    one_line_error(capsys, "the data changed")


def test_explain_exits_non_zero_when_explaining_fails(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*QUICK, "--seeds", "0", "--output", str(run)]) == 0
    doc = json.loads((run / "results.json").read_text())
    doc["records"][0]["hparams"] = {"C": "junk"}  # the model cannot be rebuilt
    (run / "results.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["explain", str(run), "--method", "permutation", "--samples", "10", "--no-sanity"]) == 1
    assert "explaining failed for 1 run(s)" in capsys.readouterr().err


def test_a_killed_writers_temp_files_are_removed_on_the_next_open(tmp_path):
    run = tmp_path / "run"
    assert main([*QUICK, "--seeds", "0", "--output", str(run)]) == 0
    stale = [run / ".results.json.k1ll3d", run / ".summary.md.x2"]  # what SIGKILL mid-write leaves
    for path in stale:
        path.write_bytes(b"x" * 1024)
    assert main([*QUICK, "--seeds", "0,1", "--output", str(run)]) == 0
    assert not any(p.exists() for p in stale)
    assert not list(run.glob(".results.json.*"))


# --- cause 4: one line, never a traceback ------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A real two-seed logreg run on Wisconsin (the base of the tampered copies below)."""
    out = tmp_path_factory.mktemp("base") / "run"
    assert main([*QUICK, "--seeds", "0,1", "--output", str(out)]) == 0
    return out


def _tampered(run: Path, tmp_path: Path, change) -> Path:
    doc = json.loads((run / "results.json").read_text())
    change(doc)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc))
    return path


def _set(field, value, i=0):
    return lambda doc: doc["records"][i].__setitem__(field, value)


TAMPERED = [
    ("accuracy 1e308", _set("accuracy", 1e308), "outside 0 .. 1"),
    ("environment a string", lambda d: [r.__setitem__("environment", "x") for r in d["records"]],
     "environment"),
    ("accuracy a string", _set("accuracy", "high"), "not a finite number"),
    ("f1 a list", _set("f1_macro", [1, 2]), "not a finite number"),
    ("roc_auc a bool", _set("roc_auc", True), "not a finite number"),
    ("negative accuracy", _set("accuracy", -0.5), "outside 0 .. 1"),
    ("train time inf", _set("train_time_s", float("inf")), "not a finite number"),
    ("duplicated record", lambda d: d["records"].append(dict(d["records"][0])), "duplicated record"),
    ("accuracy nan", _set("accuracy", float("nan")), "not a finite number"),
]


@pytest.mark.parametrize("change,needle", [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED])
@pytest.mark.parametrize("command", ["compare", "report", "baseline"])
def test_tampered_results_are_refused_as_corrupt(command, change, needle, finished_run, tmp_path, capsys):
    bad = _tampered(finished_run, tmp_path, change)
    argv = {"compare": ["compare", str(finished_run), str(bad)],
            "report": ["report", str(bad), "--output", str(tmp_path / "rep")],
            "baseline": ["baseline", "save", str(bad), "--name", "x", "--dir", str(tmp_path / "bl")]}[command]
    capsys.readouterr()
    assert main(argv) == 2
    one_line_error(capsys, needle, "corrupt")


def test_results_json_nested_100k_deep_is_one_line(finished_run, tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text('{"schema_version": 1, "records": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert main(["compare", str(finished_run), str(deep)]) == 2
    one_line_error(capsys, "nested too deeply")


@pytest.mark.parametrize("name,content,needle", [
    ("utf16", "models = ['logreg']\n".encode("utf-16"), "not UTF-8"),
    ("latin1", "models = ['café']\n".encode("latin-1"), "not UTF-8"),
    ("deep", ("x = " + "[" * 10_000 + "]" * 10_000 + "\n").encode(), "nested too deeply"),
])
def test_unreadable_suite_files_are_one_line(name, content, needle, tmp_path, capsys):
    path = tmp_path / f"{name}.toml"
    path.write_bytes(content)
    assert main(["run", "--config", str(path)]) == 2
    one_line_error(capsys, needle)


PLUGIN_LOADER_NONE = '''\
from benchmarks.core.modalities import TABULAR
from datasets.base import Provenance
from datasets.registry import register_dataset
from datasets.spec import SeededSplit


@register_dataset("none_data", modality=TABULAR, classes=("a", "b"), size="10 x 2", split=SeededSplit(),
                  provenance=Provenance("generated (test)", "CC0"))
def load(options):
    """A loader that forgets to return its data."""
    return None
'''



def test_a_plugin_loader_returning_none_is_one_line(tmp_path, capsys, isolated):
    plugin = tmp_path / "none_plugin.py"
    plugin.write_text(PLUGIN_LOADER_NONE)
    assert main(["run", "--model", "logreg", "--dataset", "none_data", "--plugin", str(plugin),
                 "--output", str(tmp_path / "run")]) == 2
    one_line_error(capsys, "none_data", "returned NoneType")


def test_a_file_where_the_data_folder_should_be(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["download", "uci_rnaseq", "--data-dir", str(afile)]) == 2
    one_line_error(capsys, "--data-dir", "not a folder")
    monkeypatch.setenv("ONCOBENCH_DATA", str(afile / "below"))
    assert main(["download", "uci_rnaseq"]) == 2
    one_line_error(capsys, "$ONCOBENCH_DATA", "which is a file")
    monkeypatch.delenv("ONCOBENCH_DATA")
    suite = tmp_path / "s.toml"
    suite.write_text(f'models = ["logreg"]\ndatasets = ["uci_rnaseq"]\n[data]\ndata_dir = "{afile}"\n')
    assert main(["run", "--config", str(suite), "--output", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "data_dir", "not a folder")


def test_output_names_and_files_in_the_way(tmp_path, capsys, no_training):
    assert main([*QUICK, "--output", str(tmp_path / ("x" * 300))]) == 2
    one_line_error(capsys, "File name too long", "shorter name")
    afile = tmp_path / "afile"
    afile.write_text("keep")
    assert main(["ab", "HEAD", "--output", str(afile), "--model", "dnn", "--dataset", "wisconsin"]) == 2
    one_line_error(capsys, "is a file")
    assert main(["ab", "HEAD", "--model", "cnn", "--dataset", "wisconsin"]) == 2  # before both trees start
    one_line_error(capsys, "incompatible")
    if pytest.importorskip("optuna"):
        assert main(["tune", "--model", "logreg", "--dataset", "wisconsin", "--trials", "1",
                     "--output", str(afile)]) == 2
        one_line_error(capsys, "is a file")
    assert afile.read_text() == "keep"


def test_mlflow_tracking_uri_that_cannot_be_written(finished_run, capsys):
    pytest.importorskip("mlflow")
    assert main(["export", "mlflow", str(finished_run), "--tracking-uri", "file:///proc/x"]) == 2
    one_line_error(capsys, "file:///proc/x")


@pytest.mark.parametrize("backend,needle", [("nosuch", "not a Keras backend"), ("torch", "not installed")])
def test_keras_backend_that_is_missing(backend, needle, monkeypatch, capsys):
    import importlib.util

    if backend == "torch" and importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    monkeypatch.setenv("KERAS_BACKEND", backend)
    assert main(["list"]) == 2
    one_line_error(capsys, "KERAS_BACKEND", backend, needle)


@pytest.mark.parametrize("tf_config", ["{bad json", "[]", '{"cluster": {"worker": ["h:1"]}, "task": {}}', ""])
def test_malformed_tf_config_with_multiworker(tf_config, tmp_path, monkeypatch, capsys, no_training):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    assert main(["run", "--model", "dnn", "--dataset", "wisconsin", "--strategy", "multiworker",
                 "--output", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "TF_CONFIG")


def test_report_into_a_read_only_run_folder(finished_run, tmp_path, capsys, monkeypatch):
    from benchmarks.core import atomic

    real = os.access
    monkeypatch.setattr(atomic.os, "access",
                        lambda p, mode, **k: False if Path(p) == finished_run else real(p, mode, **k))
    assert main(["report", str(finished_run)]) == 2
    one_line_error(capsys, "not writable")


# --- cause 9: selections and messages that mislead ---------------------------------------------------

def test_an_empty_suite_file_runs_nothing(tmp_path, capsys, no_training):
    path = tmp_path / "empty.toml"
    path.write_text("# nothing yet\n")
    assert main(["run", "--config", str(path), "--output", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "names no models or datasets")


@pytest.mark.parametrize("sep", ["ab", "", "\n"])
def test_a_csv_separator_is_one_character(sep, tmp_path, capsys, no_training):
    data = _csv(tmp_path / "c.csv")
    assert main(["run", "--model", "logreg", "--dataset", f"csv:{data}", "--label-column", "label",
                 "--sep", sep, "--output", str(tmp_path / "r")]) == 2
    one_line_error(capsys, "--sep")


BAD_BUILDERS = {
    "none": "return None",
    "string": "return 'a model'",
    "list": "return [keras.layers.Dense(2)]",
    "head": "inputs = keras.Input(input_shape)\n"
            "    return keras.Model(inputs, keras.layers.Dense(7)(inputs))",
}


@pytest.mark.parametrize("kind", list(BAD_BUILDERS))
def test_a_plugin_builder_that_returns_no_fitting_model(kind, tmp_path, isolated):
    from benchmarks.core.errors import OncobenchError

    plugin = tmp_path / f"bad_{kind}.py"
    plugin.write_text("from models.registry import register_model\n\n\n"
                      f"@register_model('bad_{kind}', modalities=('tabular',))\n"
                      "def build(input_shape, num_classes, *, units: int = 4):\n"
                      "    import keras\n\n"
                      f"    {BAD_BUILDERS[kind]}\n")
    from benchmarks.core.plugins import load_plugins
    from models.registry import get_model

    load_plugins([str(plugin)])
    with pytest.raises(OncobenchError, match="fix the builder"):
        get_model(f"bad_{kind}").create((4,), 3, {"units": 4}, seed=0)


@pytest.mark.parametrize("body,needle", [("import sys\nsys.exit(0)\n", "sys.exit(0)"), (None, "is a folder")])
def test_plugins_that_exit_or_are_folders(body, needle, tmp_path, capsys, isolated, no_training):
    if body is None:
        plugin = tmp_path / "pkg"
        plugin.mkdir()
    else:
        plugin = tmp_path / "quits.py"
        plugin.write_text(body)
    assert main([*QUICK, "--plugin", str(plugin), "--output", str(tmp_path / "r")]) == 2
    one_line_error(capsys, needle)


# --- cause 6: a full disk while checkpoints are written ---------------------------------------------

DNN = ["run", "--model", "dnn", "--dataset", "wisconsin", "--profile", "quick", "--epochs", "1",
       "--seeds", "0,1", "--executor", "inprocess"]  # the full disk is simulated in this process


@pytest.mark.parametrize("how", ["enospc", "h5py", "no_free_space"])
def test_a_full_disk_while_writing_a_checkpoint_is_one_line(how, tmp_path, capsys, monkeypatch):
    import errno
    from collections import namedtuple

    import keras

    from benchmarks.core import checkpoints

    def fail(self, path, *a, **k):
        Path(path).write_bytes(b"half")  # what a failing write leaves
        if how == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise RuntimeError("Can't write data (file write failed: errno = 28)")  # h5py's wording

    if how == "no_free_space":
        usage = namedtuple("usage", "total used free")
        monkeypatch.setattr(checkpoints.shutil, "disk_usage", lambda p: usage(10**9, 10**9, 1000))
    else:
        monkeypatch.setattr(keras.Model, "save_weights", fail)
    out = tmp_path / "run"
    assert main([*DNN, "--output", str(out)]) == 2
    line = one_line_error(capsys, "cannot write", "free some disk space")
    assert "No space left" in line or how == "h5py"
    assert not list((out / "checkpoints").glob(".*.weights.h5"))  # no half-written temporary file
    assert not (out / "results.json").exists() or \
        not json.loads((out / "results.json").read_text())["records"]  # stopped at the first job


@pytest.mark.parametrize("content,extra,needle", [
    (b"label;g1;g2\n" + b"".join(f"{'ab'[i % 2]};{i},5;{i % 3},25\n".encode() for i in range(30)),
     ["--sep", ";"], "decimal comma"),
    (b"label,g1,g2\n" + b"".join(f"{'ab'[i % 2]},{i}.5,{i % 3}.25\n".encode() for i in range(30)),
     ["--transpose"], "drop --transpose"),
    (b"PK\x03\x04" + bytes(range(256)) * 4, [], "zip archive"),
])
def test_csv_hints(content, extra, needle, tmp_path, capsys):
    path = tmp_path / "cohort.csv"
    path.write_bytes(content)
    assert main(["run", "--model", "logreg", "--dataset", f"csv:{path}", "--label-column", "label", *extra,
                 "--output", str(tmp_path / "r")]) == 2
    one_line_error(capsys, needle)


def test_a_suite_by_column_partition_keeps_the_site_column_out_of_the_features():
    from benchmarks.config.suite import suite_from_mapping

    s = suite_from_mapping({"models": ["dnn"], "datasets": ["csv:x.csv"], "federated": [
        {"strategy": "fedavg", "clients": 3, "partition": "by-column:site"}]})
    assert s.data.site_column == "site"  # was a "non-numeric feature column 'site'" error


def test_the_refusal_names_a_holder_that_has_just_taken_the_lock(tmp_path):
    """A holder writes its line just after taking the lock: a contender arriving in between waits
    for that line instead of saying "another process" (a CI run of the test above hit that window)."""
    import fcntl
    import threading

    from benchmarks.core.folder_lock import LOCK_NAME, FolderBusy, acquire

    folder = tmp_path / "run"
    folder.mkdir()
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held, still empty
        late = threading.Timer(0.3, lambda: os.pwrite(fd, b"oncobench pid 4242 on host since now\n", 0))
        late.start()
        with pytest.raises(FolderBusy, match="in use by oncobench pid 4242"):
            acquire(folder)
        late.join()
    finally:
        os.close(fd)
