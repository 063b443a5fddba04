"""Run progress (``benchmarks.execution.progress``): a bar with an ETA on a terminal, a plain line per run
otherwise; and no TensorFlow native start-up log in ``run``'s output (``benchmarks.core.quiet``)."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.execution import progress as progress_mod
from benchmarks.execution.progress import RunProgress, clock, live_wanted

ROOT = Path(__file__).resolve().parent.parent
# absl/TensorFlow native log lines: "I0000 00:00:1796... port.cc:153] ..." and absl's preamble
NATIVE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:[\d.]+|absl::InitializeLog|cuInit|oneDNN custom operations",
                    re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_plain_lines_count_runs_and_estimate_the_rest(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    p = RunProgress(out)
    assert not p.live  # not a terminal
    p.start(4, done=1)  # one run finished before (a resume): not part of the estimate
    assert p.eta() is None
    now[0] = 110.0
    p.finished("dnn on wisconsin seed 1", 10.0, "accuracy 0.950")
    assert p.eta() == pytest.approx(20.0)  # 10 s a run, 2 left
    now[0] = 130.0
    p.finished("dnn on wisconsin seed 2", 20.0, "FAILED boom")
    lines = out.getvalue().splitlines()
    assert lines == ["[2/4] dnn on wisconsin seed 1: accuracy 0.950  (10.0 s; elapsed 0:00:10, ETA 0:00:20)",
                     "[3/4] dnn on wisconsin seed 2: FAILED boom  (20.0 s; elapsed 0:00:30, ETA 0:00:15)"]
    now[0] = 140.0
    assert p.eta() == pytest.approx(5.0)  # counts down between runs
    assert clock(None) == "--:--" and clock(3725) == "1:02:05"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_only_on_a_terminal_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert live_wanted(_Tty()) and not live_wanted(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not live_wanted(_Tty())


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_CPP_MIN_LOG_LEVEL", "ONCOBENCH_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return {**env, **extra}


ARGV = [sys.executable, "-m", "benchmarks", "run", "--model", "logreg", "--dataset", "wisconsin",
        "--profile", "quick", "--seeds", "0,1"]


def test_run_stderr_has_no_tensorflow_native_log(tmp_path):
    proc = subprocess.run([*ARGV, "--output", str(tmp_path / "run")], env=_env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not NATIVE.search(proc.stderr), proc.stderr  # E0000 ... cuInit, I0000 ... oneDNN, ...
    lines = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 2 and lines[1].startswith("[2/2] logreg on wisconsin seed 1: accuracy")
    assert "ETA 0:00:00" in lines[1] and "elapsed" in lines[0]


def test_run_on_a_terminal_shows_a_bar_with_an_eta(tmp_path):
    """Under a pseudo-terminal (stdout and stderr a TTY), as a user at a shell sees it."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen([*ARGV, "--output", str(tmp_path / "run")], env=_env(TERM="xterm-256color"),
                            cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=60) == 0
    screen = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    assert re.search(r"\b1/2 runs\b.*elapsed \d:\d\d:\d\d\s+ETA \d:\d\d:\d\d", screen), screen[-2000:]
    assert re.search(r"\b2/2 runs\b", screen)
    assert "[2/2] logreg on wisconsin seed 1: accuracy" in screen
    assert not NATIVE.search(screen), screen[:2000]
    assert "dataset" in screen and "Δ vs published" in screen  # the table after the bar
