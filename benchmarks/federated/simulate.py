"""Run a job folder in Flower's simulation engine (Ray backend): K virtual SuperNodes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from benchmarks.core.errors import OncobenchError
from benchmarks.federated.job import RESULT_JSON, Job


def simulate(job: Job, *, verbose: bool = False) -> dict[str, Any]:
    """Run ``job`` with ``job.federated.clients`` virtual SuperNodes; returns the server's result."""
    from flwr.simulation import run_simulation

    from benchmarks.federated.apps import client_app, make_server_app

    result = job.folder / RESULT_JSON
    result.unlink(missing_ok=True)
    cpus = os.cpu_count() or 1
    backend = {
        # one client actor per process that holds the CPUs: TensorFlow uses them all itself
        "client_resources": {"num_cpus": cpus, "num_gpus": 0.0},
        "init_args": {"num_cpus": cpus, "log_to_driver": verbose, "logging_level": logging.ERROR},
    }
    if not verbose:
        logging.getLogger("flwr").setLevel(logging.WARNING)
    run_simulation(server_app=make_server_app(job.folder), client_app=client_app,
                   num_supernodes=job.federated.clients, backend_config=backend)
    if not result.exists():
        raise OncobenchError(f"the Flower simulation ended without a result in {Path(job.folder)}; "
                             "rerun with --verbose to see Flower's log")
    return json.loads(result.read_text(encoding="utf-8"))
