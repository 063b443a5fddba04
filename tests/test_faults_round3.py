"""Issue 27 (bad input and faults, round three): one test per root cause, each failing on the code
before the fix. Bad input ends in one line ``error: ...`` and exit 2, before anything trains."""

from __future__ import annotations

import json
import os
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
    assert len(lines[-1]) < 300, lines[-1]
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
    return subprocess.Popen([sys.executable, "-m", "benchmarks", *QUICK, "--seeds", seeds, "--output", str(out)],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
