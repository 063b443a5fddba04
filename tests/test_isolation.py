"""One run = one job in a fresh process: a crash or a timeout is a failed record with the reason
and the others finish; resume keeps those records unless --retry-failed; memory is per job;
--jobs 2 gives the same quality numbers as --jobs 1."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.config import RunConfig
from benchmarks.execution.jobs import Job, crash_reason


@pytest.fixture
def plugin_models(monkeypatch):
    """The test plugin's models (abort_model, sleepy, hog), registered for one test only."""
    import isolation_models

    isolation_models.register_for_test(monkeypatch)


def _records(out: Path) -> dict[str, dict]:
    return {r["model"]: r for r in json.loads((out / "results.json").read_text())["records"]}


def test_job_round_trips_through_json():
    config = RunConfig(epochs=3, seeds=(1,), target=("val_accuracy", 0.8), hparams={"dnn": {"dropout": 0.2}})
    job = Job("dnn", "golub", 1, 2, config, {"data_dir": "/tmp/x", "cv_folds": 3}, "/tmp/run",
              plugins=("a.b",), cpus=(0, 1))
    again = Job.from_json(job.to_json())
    assert again == job
    assert again.config == config and again.config.target == ("val_accuracy", 0.8)
    assert again.load_options().fold == 2 and str(again.load_options().data_dir) == "/tmp/x"


def test_crash_reason_names_the_signal_and_the_stderr_tail():
    text = crash_reason(-signal.SIGABRT, "line 1\nline 2\nAssertion failed: x\n")
    assert "SIGABRT" in text and "Assertion failed: x" in text
    assert crash_reason(3, "").startswith("job process exit code 3")


def test_abort_and_timeout_are_failed_records_and_the_suite_goes_on(plugin_models, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--model", "abort_model,sleepy,logreg", "--dataset", "wisconsin", "--profile", "quick",
            "--jobs", "2", "--run-timeout", "20", "--output", str(out)]
    assert main(argv) == 1
    recs = _records(out)
    assert recs["logreg"]["status"] == "ok" and recs["logreg"]["jobs_beside"] == 2
    assert "2 jobs at once" in (out / "summary.md").read_text()
    assert recs["abort_model"]["status"] == "failed" and recs["abort_model"]["failure"] == "crash"
    assert "SIGABRT" in recs["abort_model"]["error"]
    assert recs["sleepy"]["failure"] == "timeout" and "--run-timeout 20" in recs["sleepy"]["error"]
    # a rerun keeps them (they would crash again) ...
    capsys.readouterr()
    assert main(argv) == 1
    assert "not rerunning 2 crashed/timed-out run(s)" in capsys.readouterr().err
    assert _records(out)["abort_model"]["finished_at"] == recs["abort_model"]["finished_at"]
    # ... unless asked
    assert main(["run", "--model", "abort_model", "--dataset", "wisconsin", "--profile", "quick",
                 "--isolate", "--retry-failed", "--output", str(out)]) == 1
    assert "abort_model on wisconsin" in capsys.readouterr().err
    assert _records(out)["abort_model"]["failure"] == "crash"


def test_the_default_run_survives_a_crash(plugin_models, tmp_path, capsys):
    """No flag: jobs run in a warm worker process, so a model that calls os.abort() is a failed
    record with the signal, the other runs of the invocation finish, and a rerun does not retry it."""
    out = tmp_path / "run"
    argv = ["run", "--model", "abort_model,logreg,dnn", "--dataset", "wisconsin", "--profile", "quick",
            "--output", str(out)]
    assert main(argv) == 1
    recs = _records(out)
    assert recs["abort_model"]["status"] == "failed" and recs["abort_model"]["failure"] == "crash"
    assert "SIGABRT" in recs["abort_model"]["error"]
    assert recs["logreg"]["status"] == "ok" and recs["dnn"]["status"] == "ok"
    capsys.readouterr()
    assert main(argv) == 1
    assert "not rerunning 1 crashed/timed-out run(s)" in capsys.readouterr().err
    assert _records(out)["abort_model"]["finished_at"] == recs["abort_model"]["finished_at"]


@pytest.mark.parametrize("flags", [["--isolate"], []], ids=["fresh", "warm"])
def test_peak_memory_is_the_jobs_own(plugin_models, tmp_path, flags):
    """A fresh process per job, or one warm worker whose peak is reset before each job."""
    out = tmp_path / "run"
    assert main(["run", "--model", "hog,logreg", "--dataset", "wisconsin", "--profile", "quick",
                 *flags, "--output", str(out)]) == 0
    recs = _records(out)
    assert recs["hog"]["peak_rss_mb"] > 300
    assert recs["logreg"]["peak_rss_mb"] < recs["hog"]["peak_rss_mb"] - 250, (
        recs["logreg"]["peak_rss_mb"], recs["hog"]["peak_rss_mb"])


@pytest.mark.slow
def test_two_jobs_at_once_give_the_same_quality_numbers(tmp_path):
    """--jobs 2 (each job pinned to its own core) gives the numbers of the in-process executor,
    the default warm worker and --isolate under --deterministic, a convolutional model included (its kernels'
    reduction order follows the thread-pool size, which therefore stays the same)."""
    keys = ("accuracy", "f1_macro", "roc_auc", "test_scores")
    got = {}
    for name, flags in (("inprocess", ["--executor", "inprocess"]), ("warm", []), ("isolate", ["--isolate"]),
                        ("jobs2", ["--jobs", "2"])):
        out = tmp_path / name
        assert main(["run", "--model", "logreg,dnn,cnn", "--dataset", "wisconsin,breastmnist",
                     "--profile", "quick", "--epochs", "1", "--deterministic", *flags,
                     "--output", str(out)]) == 0
        recs = json.loads((out / "results.json").read_text())["records"]
        got[name] = {r["key"]: {k: r[k] for k in keys} for r in recs}
        assert len(got[name]) == 4  # logreg x 2, dnn on wisconsin, cnn on breastmnist
        assert {r["jobs_beside"] for r in _records(out).values()} == {2 if name == "jobs2" else 1}
    assert got["inprocess"] == got["warm"] == got["isolate"] == got["jobs2"]


def test_a_worker_dies_with_its_driver(tmp_path):
    """The driver killed (SIGKILL: no handler runs) while its worker is in a job: the kernel ends
    the worker too, instead of it training on for nobody (Linux, prctl PR_SET_PDEATHSIG)."""
    import os
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    pid_file = tmp_path / "worker.pid"
    tests_dir = Path(__file__).parent
    path = os.pathsep.join([str(tests_dir), str(tests_dir.parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "SLEEPY_PID_FILE": str(pid_file), "PYTHONPATH": path}
    driver = subprocess.Popen([sys.executable, "-m", "benchmarks", "run", "--model", "sleepy", "--dataset",
                               "wisconsin", "--profile", "quick", "--plugin", "isolation_models",
                               "--output", str(tmp_path / "run")],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        worker = int(pid_file.read_text())
        assert worker != driver.pid
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                return  # gone
            with open(f"/proc/{worker}/stat") as fh:  # a zombie (exited, not yet reaped) is gone too
                if fh.read().split(")")[-1].split()[0] == "Z":
                    return
            time.sleep(0.2)
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its killed driver by 20 s")
    finally:
        driver.kill()
