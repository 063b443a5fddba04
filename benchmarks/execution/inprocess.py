"""Run jobs in this process, one after the other (``--executor inprocess``): no crash
isolation, but Keras callbacks and a debugger reach the training loop."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.execution import OnRecord
from benchmarks.execution.jobs import Job, run_job


@dataclass
class InProcess:
    """The in-process executor: ``run(jobs, on_record)``."""

    callbacks: list | None = None  # extra Keras callbacks for every job

    def run(self, jobs: list[Job], on_record: OnRecord) -> None:
        for job in jobs:
            on_record(job, run_job(job, callbacks=self.callbacks))
