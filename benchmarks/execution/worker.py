"""A job process: ``python -m benchmarks.execution.worker --serve`` runs jobs one after the other
(a warm worker: TensorFlow imported once), ``python -m benchmarks.execution.worker JOB.json OUT.json``
runs exactly one.

Protocol of ``--serve``: the driver writes the path of a ``*.job.json`` file on a line of stdin;
the worker runs it and writes its one record to the same path with ``.out.json`` atomically, then
answers ``done`` on its protocol pipe (its original stdout; anything the job prints goes to
stderr). End of stdin ends the worker. A crash (signal, abort) leaves no answer: the driver
records the exit status instead. Before each job the worker resets its peak-memory counter, so
each record's peak memory is the job's own. On Linux a worker dies with its driver (killed, or
crashed): it does not train on for nobody.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from benchmarks.core.atomic import atomic_write_text
from benchmarks.execution.jobs import Job, run_job


def out_path(job_path: Path) -> Path:
    return job_path.with_name(job_path.name.replace(".job.json", ".out.json"))


def reset_peak_memory() -> None:
    """Linux: reset this process's peak resident memory (VmHWM), see proc(5) clear_refs."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


DRIVER_PID = "ONCOBENCH_DRIVER_PID"  # set by the driver (processes.child_env)


def die_with_driver() -> None:
    """Linux: ask the kernel to SIGKILL this process when the driver that started it ends
    (prctl PR_SET_PDEATHSIG); exit now if it already has. Elsewhere, or when not started by a
    driver: nothing (the worker ends at the end of its stdin, after the job in progress)."""
    import ctypes
    import signal

    driver = os.environ.get(DRIVER_PID)
    if not driver or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != driver:  # the driver ended before the call above
        os._exit(1)


def run_file(job_path: Path, out: Path) -> None:
    job = Job.from_json(job_path.read_text())
    reset_peak_memory()
    rec = run_job(job)
    atomic_write_text(out, json.dumps(rec, allow_nan=True) + "\n")


def serve() -> int:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the job's prints (Keras, plugins) must not reach the protocol pipe
    sys.stdout = sys.stderr
    for line in sys.stdin:
        job_path = Path(line.strip())
        run_file(job_path, out_path(job_path))
        proto.write("done\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    from benchmarks.core import quiet

    quiet.install()  # before TensorFlow is imported (unless the driver ran with --debug)
    args = sys.argv[1:] if argv is None else argv
    die_with_driver()
    if args == ["--serve"]:
        return serve()
    if len(args) != 2:
        print("usage: python -m benchmarks.execution.worker (--serve | JOB.json OUT.json)", file=sys.stderr)
        return 2
    run_file(Path(args[0]), Path(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
