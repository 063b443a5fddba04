"""Run jobs as Ray tasks (``--executor ray``): one task per job in a fresh Ray worker
(``max_calls=1``), ``num_cpus``/``num_gpus`` per job, retried when its node is lost. Inside the
task the job runs in its own process (``benchmarks.execution.worker``), so a crash or a timeout becomes a
failed record there, as with the local executor. Records come back to the driver, which alone
writes results. Ray is optional: ``pip install 'oncobench[ray]'``.

A real cluster: ``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on the
others, then ``python -m benchmarks run ... --executor ray --ray-address auto`` on the head.
Every node needs this package and the datasets (a shared ``--data-dir``, or ``download`` on each).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

from benchmarks.core.errors import OncobenchError
from benchmarks.execution import OnRecord
from benchmarks.execution.jobs import Job, failed_record

NODE_RETRIES = 2  # a task whose node or worker was lost is resubmitted this many times


def _ray():
    try:
        import ray
    except ImportError:
        raise OncobenchError("--executor ray needs Ray: pip install 'oncobench[ray]'") from None
    return ray


def run_in_task(job_json: str, timeout_s: float | None) -> dict[str, Any]:
    """The Ray task: the job in a fresh process on this node; its record (ok or failed)."""
    from benchmarks.execution.processes import run_processes

    out: list[dict[str, Any]] = []
    run_processes([Job.from_json(job_json)], lambda job, rec: out.append(rec), workers=1, timeout_s=timeout_s)
    return out[0]


def run_ray(jobs: list[Job], on_record: OnRecord, *, address: str | None = None,
            timeout_s: float | None = None, cpus_per_job: float = 1, gpus_per_job: float = 0,
            log: Callable[[str], None] = lambda s: None) -> None:
    """Submit every job as a Ray task and hand each record to ``on_record`` as it arrives."""
    ray = _ray()
    started = not ray.is_initialized()
    if started:
        paths = [p for p in sys.path if p and Path(p).is_dir()]
        env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys([str(Path.cwd()), *paths])),
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": env})
    try:
        task = ray.remote(max_calls=1, max_retries=NODE_RETRIES, num_cpus=cpus_per_job,
                          num_gpus=gpus_per_job)(run_in_task)
        refs = {task.remote(job.to_json(), timeout_s): job for job in jobs}
        log(f"submitted {len(refs)} Ray task(s) to {ray.cluster_resources().get('CPU', 0):g} CPUs")
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                job = refs.pop(ref)
                try:
                    rec = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the task itself died (node lost, retries spent)
                    first = (str(exc).strip().splitlines() or [""])[0]
                    rec = failed_record(job, f"Ray task failed: {type(exc).__name__}: {first}"[:500],
                                        failure="crash")
                on_record(job, rec)
    finally:
        if started:
            ray.shutdown()
