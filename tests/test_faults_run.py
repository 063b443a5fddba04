"""Issue 10, run side: nonsense flags and hyper-parameters, output locations that cannot be
written, resumes that would mix experiments, diverged training, huge batches and Ctrl-C.

Each bad input fails with one line ``error: ...`` naming the flag or path, exit 2, no
traceback; a run that fails inside the model becomes a failed record."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import measure
from benchmarks.cli import main
from benchmarks.core import atomic

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["run", "--model", "logreg", "--dataset", "wisconsin", "--profile", "quick"]


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = err.splitlines()
    assert lines and lines[-1].startswith("error: "), err
    assert "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    return lines[-1]


def _csv_data(path: Path, rows: int = 40, shift: float = 0.0) -> Path:
    rng = np.random.default_rng(0)
    lines = ["label,g1,g2,g3"]
    for i in range(rows):
        cls = i % 2
        lines.append(f"{'tumour' if cls else 'normal'},"
                     + ",".join(f"{v + cls + shift:.4f}" for v in rng.normal(size=3)))
    path.write_text("\n".join(lines) + "\n")
    return path


# --- 11: nonsense flags and hyper-parameter values, refused before anything runs ------------------

NONSENSE = [
    (["--lr", "-1"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--top-k-genes", "-5"], "--top-k-genes"),
    (["--patience", "-5"], "--patience"),
    (["--target", "val_accuracy=nan"], "--target"),
    (["--seeds", ""], "--seeds"),
    (["--repeats", "0"], "--repeats"),
    (["--seeds", "0,0"], "--seeds"),
    (["--seeds", "-1"], "--seeds"),
    (["--hp", "dnn.dropout=2.0"], "0 <= dropout < 1"),
    (["--hp", "dnn.dropout=abc"], "--hp dnn.dropout"),
    (["--hp", "dnn.dropout=(())"], "--hp dnn.dropout"),
    (["--hp", "dnn.dropout=True"], "--hp dnn.dropout"),
    (["--hp", "logreg.C=0"], "0 < C"),
    (["--hp", "logreg.max_iter=1.5"], "--hp logreg.max_iter"),
]


@pytest.mark.parametrize("extra,needle", NONSENSE, ids=[" ".join(a) for a, _ in NONSENSE])
def test_nonsense_flags_are_refused_before_running(extra, needle, tmp_path, capsys, monkeypatch):
    import benchmarks.execution.runner as runner

    monkeypatch.setattr(runner, "execute", lambda *a, **k: pytest.fail("ran despite a bad flag"))
    assert main([*QUICK, "--output", str(tmp_path / "run"), *extra]) == 2
    _one_line_error(capsys, needle)
    assert not (tmp_path / "run").exists()


def test_hyper_parameter_values_follow_the_builder_signature():
    from models.registry import get_model

    dnn = get_model("dnn")
    assert dnn.hparams({"dropout": 0, "hidden_units": [8, 4]})["hidden_units"] == (8, 4)
    assert dnn.ranges["dropout"].describe("dropout") == "0 <= dropout < 1"
    for model in ("dnn", "cnn", "mobilenet_v2_hub"):
        assert "dropout" in get_model(model).ranges, model


# --- 10: thread counts checked before TensorFlow starts -------------------------------------------

def test_negative_threads_fail_in_one_line_before_tensorflow(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", *QUICK, "--output", str(tmp_path / "run"), "--threads", "-3"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1].startswith("error: --threads -3: must be at least 1")
    assert "Check failed" not in out.stderr


# --- 6: output locations ---------------------------------------------------------------------------

def test_output_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    assert main([*QUICK, "--output", str(target)]) == 2
    _one_line_error(capsys, str(target), "is a file")
    assert target.read_text() == "not a folder"


def test_read_only_output_folder_is_refused_before_training(tmp_path, capsys, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(atomic.os, "access",
                        lambda p, mode, **k: False if Path(p) == tmp_path else real_access(p, mode, **k))
    assert main([*QUICK, "--output", str(tmp_path / "run")]) == 2
    _one_line_error(capsys, str(tmp_path), "not writable")


def test_full_disk_while_writing_results_is_one_line(tmp_path, capsys, monkeypatch):
    calls = {"n": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] > 1:  # the first write (the run folder's environment) succeeds
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    out = tmp_path / "run"
    assert main([*QUICK, "--output", str(out)]) == 2
    line = _one_line_error(capsys, "results.json", os.strerror(errno.ENOSPC))
    assert line.count("\n") == 0
    doc = json.loads((out / "results.json").read_text())  # still valid: the old file was kept
    assert doc["records"] == []
    assert not [p for p in out.iterdir() if p.name.startswith(".results.json.")]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """One finished quick run: logreg on Wisconsin."""
    out = tmp_path_factory.mktemp("faults") / "run"
    assert main([*QUICK, "--output", str(out)]) == 0
    return out


def test_report_output_on_a_file_is_one_line(base_run, tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("x")
    assert main(["report", str(base_run), "--output", str(target)]) == 2
    _one_line_error(capsys, str(target), "is a file")


def test_baseline_save_into_read_only_folder_is_one_line(base_run, tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    assert main(["baseline", "save", str(base_run), "--name", "ro", "--dir", str(tmp_path / "b")]) == 2
    _one_line_error(capsys, str(tmp_path / "b" / "ro.json"), os.strerror(errno.EACCES))


# --- 1: a resume continues only the same experiment ------------------------------------------------

def test_results_carry_the_experiment_fingerprint(base_run):
    doc = json.loads((base_run / "results.json").read_text())
    exp = doc["meta"]["experiment"]
    assert exp["oncobench"] and exp["config"]["epochs"] == 2 and exp["hparams"]["logreg"]["C"] == 1.0
    assert len(doc["meta"]["fingerprint"]) == 16
    assert all(len(r["fingerprint"]) == 16 for r in doc["records"])


@pytest.mark.parametrize("extra,needle", [
    (["--epochs", "3"], "config.epochs 2 -> 3"),
    (["--lr", "0.01"], "config.learning_rate"),
    (["--hp", "logreg.C=0.5"], "hparams.logreg.C 1.0 -> 0.5"),
    (["--top-k-genes", "10"], "data_options.top_k_genes"),
])
def test_resume_with_other_settings_is_refused(base_run, extra, needle, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(base_run, out)
    before = (out / "results.json").read_text()
    assert main([*QUICK, "--output", str(out), *extra]) == 2
    _one_line_error(capsys, str(out), "different experiment", needle, "--restart")
    assert (out / "results.json").read_text() == before


def test_resume_of_a_file_without_fingerprint_is_refused(base_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(base_run, out)
    doc = json.loads((out / "results.json").read_text())
    del doc["meta"]["experiment"]
    (out / "results.json").write_text(json.dumps(doc))
    assert main([*QUICK, "--output", str(out)]) == 2
    _one_line_error(capsys, "older oncobench")


def test_restart_moves_the_old_results_aside(base_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(base_run, out)
    old = json.loads((out / "results.json").read_text())
    assert main([*QUICK, "--output", str(out), "--hp", "logreg.C=0.5", "--restart"]) == 0
    assert "moved the earlier results to" in capsys.readouterr().err
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and json.loads((aside[0] / "results.json").read_text()) == old
    new = json.loads((out / "results.json").read_text())
    assert [r["hparams"]["C"] for r in new["records"]] == [0.5]


def test_resume_after_the_data_changed_is_refused(tmp_path, capsys):
    data = _csv_data(tmp_path / "data.csv")
    out = tmp_path / "run"
    argv = ["run", "--model", "logreg", "--dataset", f"csv:{data}", "--label-column", "label",
            "--profile", "quick", "--output", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    _csv_data(data, shift=0.5)
    assert main([*argv, "--seeds", "0,1"]) == 2
    _one_line_error(capsys, "data changed", "data.csv sha256", "--restart")
    doc = json.loads((out / "results.json").read_text())
    assert [r["seed"] for r in doc["records"]] == [0]


# --- 12: non-finite losses fail the run with a reason --------------------------------------------

def test_diverged_training_is_a_failed_record_with_the_reason(tmp_path):
    from benchmarks.config import get_profile
    from benchmarks.execution.runner import Plan, execute
    from datasets import LoadOptions, get_dataset
    from models import get_model

    config = get_profile("quick").with_(epochs=3, learning_rate=1e30, latency_calls=2,
                                        inference_min_time_s=0.0)
    plan = Plan([(get_model("dnn"), get_dataset("wisconsin"))], [])
    store = execute(plan, config, LoadOptions(), tmp_path / "run", meta={}, log=lambda s: None)
    (rec,) = store.records
    assert rec["status"] == "failed", rec.get("accuracy")
    assert rec["error"].startswith("training diverged: ") and "at epoch" in rec["error"]
    assert "lower --lr" in rec["error"]


# --- 13: a huge batch size does not grow memory ----------------------------------------------------

def test_timed_batch_is_capped_not_tiled_to_the_flag():
    sizes: list[int] = []

    def predict(x: np.ndarray) -> np.ndarray:
        sizes.append(len(x))
        return x

    x = np.zeros((5, 30), "float32")
    measure.inference_throughput(predict, x, batch_size=10**9, min_time_s=0.0)
    assert set(sizes) == {measure.timed_batch_size(10**9, x)}
    assert sizes[0] <= measure.MAX_TILED_SAMPLES
    big = np.zeros((3000, 4), "float32")
    assert measure.timed_batch_size(10**9, big) == 3000 and measure.timed_batch_size(64, big) == 64


def test_huge_batch_size_runs_and_records_the_timed_batch(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--model", "dnn", "--dataset", "wisconsin", "--profile", "quick",
            "--batch-size", "1000000000", "--epochs", "1", "--output", str(out)]
    assert main(argv) == 0
    (rec,) = json.loads((out / "results.json").read_text())["records"]
    assert rec["status"] == "ok" and rec["inference_batch_size"] <= measure.MAX_TILED_SAMPLES


# --- 20: Ctrl-C still leaves results.csv and summary.md --------------------------------------------

def test_interrupt_writes_csv_and_summary(tmp_path, capsys, monkeypatch):
    import benchmarks.execution.runner as runner

    real = runner.run_one
    calls = {"n": 0}

    def run_one(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_one", run_one)
    out = tmp_path / "run"
    assert main([*QUICK, "--seeds", "0,1", "--output", str(out)]) == 130
    assert len(json.loads((out / "results.json").read_text())["records"]) == 1
    assert "logreg" in (out / "results.csv").read_text()
    assert "| wisconsin" in (out / "summary.md").read_text()
