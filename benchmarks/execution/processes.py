"""Local job processes (the default executor): up to N workers at once, each pinned to its own
CPUs (and GPU). A worker is warm (``python -m benchmarks.execution.worker --serve``: TensorFlow
imported once, jobs one after the other) unless ``fresh`` (``--isolate``: a new process per
job). A new worker starts after a crash or a timeout, and when the next job needs other
process-global settings (determinism, precision policy, strategy, thread pools). A crash or a
timeout becomes a failed record and the suite goes on."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Callable

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


def child_pythonpath() -> str:
    """This process's import path, for a child process (a job worker, a Ray worker)."""
    paths = [p for p in sys.path if p and Path(p).is_dir()]
    return os.pathsep.join(dict.fromkeys([str(Path.cwd()), *paths]))


def child_env(job: Job) -> dict[str, str]:
    """The job process's environment: this one's import path, its GPU, its BLAS threads."""
    env = dict(os.environ)
    env["PYTHONPATH"] = child_pythonpath()
    env["ONCOBENCH_DRIVER_PID"] = str(os.getpid())  # the worker dies with it (worker.die_with_driver)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if job.gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = job.gpus
    if job.cpus:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(len(job.cpus))
    return env


def _tail(path: Path, start: int = 0) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(start, fh.tell() - STDERR_TAIL))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


@dataclass
class _Worker:
    """One worker process of a slot, and the job it runs (None: idle)."""

    slot: int
    proc: subprocess.Popen
    settings: tuple
    err: Path
    job: Job | None = None
    job_path: Path | None = None
    started: float = 0.0
    err_start: int = 0
    answer: IO[str] | None = field(default=None, repr=False)


@dataclass
class LocalWorkers:
    """The local executor: ``run(jobs, on_record)``."""

    workers: int = 1
    fresh: bool = False  # a new process per job (--isolate)
    timeout_s: float | None = None
    gpus: int = 0
    log: Callable[[str], None] = lambda s: None

    def run(self, jobs: list[Job], on_record: OnRecord) -> None:
        """Run ``jobs``, ``workers`` at a time; ``on_record`` gets every record (ok, failed,
        crashed, timed out) in completion order."""
        slots = max(1, min(self.workers, len(jobs) or 1))
        cpus = split_cpus(slots)
        # --deterministic: the thread pools of a one-process run (every usable core), even on
        # fewer pinned cores; kernels' reduction order follows the pool size, so --jobs N gives
        # the numbers of --jobs 1 (measured: the image models' scores differed with 1 thread per job).
        same_pools = usable_cores()
        pending = [replace(job, cpus=cpus[i % slots], beside=slots) for i, job in enumerate(jobs)]
        live: dict[int, _Worker] = {}
        with tempfile.TemporaryDirectory(prefix="oncobench-jobs-") as tmp:
            try:
                count = 0
                while pending or any(w.job for w in live.values()):
                    for slot in range(slots):
                        w = live.get(slot)
                        if not pending or (w is not None and w.job is not None):
                            continue
                        job = pending.pop(0)
                        pools = job.threads or (same_pools if job.config.deterministic else None)
                        job = replace(job, cpus=cpus[slot], threads=pools,
                                      gpus=str(slot % self.gpus) if self.gpus else None)
                        if w is not None and (self.fresh or w.settings != job.process_settings()):
                            self._stop(w)
                            w = None
                        if w is None:
                            w = live[slot] = self._start(slot, job, Path(tmp))
                        count += 1
                        self._send(w, job, Path(tmp) / f"job{count}.job.json")
                    self._collect(live, on_record)
            finally:  # Ctrl-C or a write error: leave no orphan
                for w in live.values():
                    _kill(w.proc)

    def _start(self, slot: int, job: Job, tmp: Path) -> _Worker:
        err = tmp / f"worker{slot}-{time.monotonic_ns()}.stderr"
        with open(err, "wb") as fh:
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.execution.worker", "--serve"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=fh,
                                    env=child_env(job), start_new_session=True, text=True)
        return _Worker(slot, proc, job.process_settings(), err, answer=proc.stdout)

    @staticmethod
    def _send(w: _Worker, job: Job, path: Path) -> None:
        path.write_text(job.to_json())
        w.job, w.job_path, w.started = job, path, time.monotonic()
        w.err_start = w.err.stat().st_size if w.err.exists() else 0
        try:
            w.proc.stdin.write(f"{path}\n")
            w.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died already: _collect reports the crash

    @staticmethod
    def _stop(w: _Worker) -> None:
        try:
            w.proc.stdin.close()
            w.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            _kill(w.proc)

    def _collect(self, live: dict[int, _Worker], on_record: OnRecord) -> None:
        """Wait a moment for answers; hand over each finished, crashed or timed-out job."""
        busy = [w for w in live.values() if w.job is not None]
        ready, _, _ = select.select([w.answer for w in busy], [], [], POLL_S) if busy else ([], [], [])
        for w in busy:
            job = w.job
            line = w.answer.readline() if w.answer in ready else None
            if line:  # "done": the record is in the out file
                out = w.job_path.with_name(w.job_path.name.replace(".job.json", ".out.json"))
                w.job = None
                on_record(job, json.loads(out.read_text()))
                continue
            dead = line == "" or w.proc.poll() is not None
            over = self.timeout_s is not None and time.monotonic() - w.started > self.timeout_s
            if not (dead or over):
                continue
            if dead:
                w.proc.wait()
                rc = w.proc.returncode
                rec = failed_record(job, crash_reason(rc, _tail(w.err, w.err_start)), failure="crash",
                                    exit_code=rc)
            else:
                _kill(w.proc)
                tail = _tail(w.err, w.err_start).strip()
                rec = failed_record(job, f"exceeded --run-timeout {self.timeout_s:g} s; killed"
                                    + (f"; stderr: {' | '.join(tail.splitlines()[-3:])}" if tail else ""),
                                    failure="timeout")
            del live[w.slot]  # the next job of this slot starts a new worker
            on_record(job, rec)


def run_processes(jobs: list[Job], on_record: OnRecord, *, workers: int = 1,
                  timeout_s: float | None = None, gpus: int = 0, fresh: bool = True,
                  log: Callable[[str], None] = lambda s: None) -> None:
    """``LocalWorkers(...).run(jobs, on_record)`` (fresh processes by default)."""
    LocalWorkers(workers, fresh, timeout_s, gpus, log).run(jobs, on_record)
