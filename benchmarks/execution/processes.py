"""Run each job in a fresh local process (``python -m benchmarks.execution.worker``), up to N at once,
each pinned to its own CPUs (and GPU); a crash or a timeout becomes a failed record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from benchmarks.execution import OnRecord
from benchmarks.execution.jobs import Job, crash_reason, failed_record
from benchmarks.measure import usable_cores

POLL_S = 0.05
STDERR_TAIL = 4000


def split_cpus(slots: int) -> list[tuple[int, ...] | None]:
    """The CPUs this process may use, split into ``slots`` disjoint groups (None: no pinning)."""
    if not hasattr(os, "sched_getaffinity") or slots < 2:
        return [None] * max(1, slots)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < slots:
        return [None] * slots
    per = len(cpus) // slots
    return [tuple(cpus[i * per:(i + 1) * per]) for i in range(slots)]


def child_env(job: Job) -> dict[str, str]:
    """The job process's environment: this one's import path, its GPU, its BLAS threads."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(Path.cwd()), *paths]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if job.gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = job.gpus
    if job.cpus:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(len(job.cpus))
    return env


@dataclass
class _Running:
    job: Job
    proc: subprocess.Popen
    out: Path
    err: Path
    started: float
    slot: int


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - STDERR_TAIL))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _outcome(r: _Running, timed_out: float | None) -> dict:
    import json

    if timed_out is not None:
        return failed_record(r.job, f"exceeded --run-timeout {timed_out:g} s; killed"
                             + (f"; stderr: {' | '.join(_tail(r.err).strip().splitlines()[-3:])}"
                                if _tail(r.err).strip() else ""), failure="timeout")
    rc = r.proc.returncode
    if rc == 0 and r.out.exists():
        return json.loads(r.out.read_text())
    return failed_record(r.job, crash_reason(rc, _tail(r.err)), failure="crash", exit_code=rc)


def run_processes(jobs: list[Job], on_record: OnRecord, *, workers: int = 1,
                  timeout_s: float | None = None, gpus: int = 0,
                  log: Callable[[str], None] = lambda s: None) -> None:
    """Run ``jobs`` ``workers`` at a time, each in a fresh process; ``on_record`` gets every
    record (ok, failed, crashed, timed out) in completion order."""
    workers = max(1, min(workers, len(jobs) or 1))
    cpus = split_cpus(workers)
    # --deterministic: the thread pools of an in-process run (every usable core), even on fewer
    # pinned cores; kernels' reduction order follows the pool size, so --jobs N then gives the
    # numbers of --jobs 1 (measured: the image models' scores differed with 1 thread per job).
    same_pools = usable_cores()
    pending = list(jobs)
    running: list[_Running] = []
    free = list(range(workers))
    with tempfile.TemporaryDirectory(prefix="oncobench-jobs-") as tmp:
        try:
            while pending or running:
                while pending and free:
                    slot = free.pop(0)
                    job = pending.pop(0)
                    pools = job.threads or (same_pools if job.config.get("deterministic") else None)
                    job = replace(job, cpus=cpus[slot], beside=workers, threads=pools,
                                  gpus=str(slot % gpus) if gpus else None)
                    base = Path(tmp) / f"job{len(jobs) - len(pending)}"
                    base.with_suffix(".job.json").write_text(job.to_json())
                    err = base.with_suffix(".stderr")
                    with open(err, "wb") as fh:
                        proc = subprocess.Popen(
                            [sys.executable, "-m", "benchmarks.execution.worker", str(base.with_suffix(".job.json")),
                             str(base.with_suffix(".out.json"))],
                            stdout=subprocess.DEVNULL, stderr=fh, env=child_env(job), start_new_session=True)
                    running.append(_Running(job, proc, base.with_suffix(".out.json"), err,
                                            time.monotonic(), slot))
                time.sleep(POLL_S)
                for r in list(running):
                    done = r.proc.poll() is not None
                    over = not done and timeout_s is not None and time.monotonic() - r.started > timeout_s
                    if not (done or over):
                        continue
                    if over:
                        _kill(r.proc)
                    running.remove(r)
                    free.append(r.slot)
                    on_record(r.job, _outcome(r, timeout_s if over else None))
        finally:
            for r in running:  # Ctrl-C or a write error: leave no orphan
                _kill(r.proc)
