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
    import benchmarks.runner as runner

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
    from benchmarks import folder_lock

    out = tmp_path / "held"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from benchmarks import folder_lock; "
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
    from benchmarks.errors import OncobenchError

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
            "--trials", "500", "--output", str(out)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
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
