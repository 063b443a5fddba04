"""Executors: run a list of jobs, hand each finished record to the driver (which alone writes
results). ``processes``: a fresh local process per job (``--isolate``, ``--jobs N``);
``ray``: Ray tasks on a cluster (``--executor ray``). The in-process path lives in the runner."""

from __future__ import annotations

from typing import Callable

from benchmarks.execution.jobs import Job

OnRecord = Callable[[Job, dict], None]
EXECUTORS = ("local", "ray")
