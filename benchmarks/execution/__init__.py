"""Execution: a plan of jobs (``runner``), one job (``jobs``, ``harness``) and the executors that
turn jobs into records. Every executor has one interface, ``run(jobs, on_record)``, and hands
each record (ok, failed, crashed, timed out) to ``on_record``; the driver alone writes results.

- ``LocalWorkers`` (``processes``): the default; warm worker processes (``--jobs N`` at once;
  ``--isolate``: a fresh process per job), so a crash is a failed record.
- ``InProcess`` (``inprocess``): this process (``--executor inprocess``; for debugging and for API
  callers that pass Keras callbacks); a crash ends the run.
- ``RayTasks`` (``ray``): Ray tasks on a cluster (``--executor ray``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from benchmarks.execution.jobs import Job

OnRecord = Callable[["Job", dict], None]


class Executor(Protocol):
    def run(self, jobs: list[Job], on_record: OnRecord) -> None: ...


def executor_for(executor: str = "local", *, workers: int = 1, isolate: bool = False,
                 run_timeout: float | None = None, ray_address: str | None = None, gpus: int = 0,
                 callbacks: list | None = None, log: Callable[[str], None] = lambda s: None,
                 **_: Any) -> Executor:
    """The executor the execution settings name (see ``Suite.execution``)."""
    if executor == "ray":
        from benchmarks.execution.ray import RayTasks

        return RayTasks(ray_address, run_timeout, log)
    if executor == "inprocess":
        from benchmarks.execution.inprocess import InProcess

        return InProcess(callbacks)
    from benchmarks.execution.processes import LocalWorkers

    return LocalWorkers(workers, isolate, run_timeout, gpus, log)
