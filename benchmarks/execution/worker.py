"""Run exactly one job in this (fresh) process: ``python -m benchmarks.execution.worker JOB.json OUT.json``.

Pins the process to the job's CPUs, sets TensorFlow's thread pools, runs the job and writes its
one record to OUT.json atomically. Memory figures in the record are this process's own.
A crash (signal, abort) leaves no OUT.json: the driver records the exit status instead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import DataError
from benchmarks.execution.jobs import Job, error_line, failed_record, run_job


def prepare(job: Job) -> None:
    """CPU affinity and thread pools of this process, before TensorFlow runs an op."""
    if job.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(job.cpus))
    from benchmarks.execution.jobs import import_plugins
    from models.registry import get_model

    import_plugins(job.plugins)
    if get_model(job.model).framework != "keras":
        return  # scikit-learn: BLAS threads come from the environment; no TensorFlow import
    strategy = job.config.get("strategy", "none")
    if strategy != "none":  # before any op: collective ops are configured at program startup
        from benchmarks.adapters.keras import strategy_for

        strategy_for(strategy)
    threads = job.threads or (len(job.cpus) if job.cpus else None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if threads or job.inter_op_threads:
        from benchmarks.measure import configure_threads

        configure_threads(threads, job.inter_op_threads or (threads if job.cpus else None))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m benchmarks.execution.worker JOB.json OUT.json", file=sys.stderr)
        return 2
    job = Job.from_json(Path(args[0]).read_text())
    prepare(job)
    try:
        rec = run_job(job)
    except DataError as exc:
        rec = failed_record(job, error_line(exc), failure="data")
    atomic_write_text(Path(args[1]), json.dumps(rec, allow_nan=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
