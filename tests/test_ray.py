"""The Ray executor on a local Ray instance started by the test (no dashboard, no network):
the same records as the local executor, and a task that crashes is a failed record."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.cli import main

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'oncobench[ray]'")
pytestmark = pytest.mark.ray
TESTS = Path(__file__).resolve().parent
QUALITY = ("accuracy", "f1_macro", "roc_auc", "test_scores", "status")


@pytest.fixture(scope="module")
def local_ray():
    env = {"PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)]), "TF_CPP_MIN_LOG_LEVEL": "2"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield
    ray.shutdown()


def _records(out: Path) -> dict[str, dict]:
    return {r["model"]: r for r in json.loads((out / "results.json").read_text())["records"]}


def test_ray_gives_the_local_records_and_survives_a_crash(local_ray, tmp_path, monkeypatch):
    import isolation_models

    isolation_models.register_for_test(monkeypatch)
    common = ["run", "--dataset", "wisconsin", "--profile", "quick", "--deterministic"]
    assert main([*common, "--model", "logreg,dnn,abort_model", "--executor", "ray",
                 "--output", str(tmp_path / "ray")]) == 1
    assert main([*common, "--model", "logreg,dnn", "--isolate", "--output", str(tmp_path / "local")]) == 0
    on_ray, local = _records(tmp_path / "ray"), _records(tmp_path / "local")
    crashed = on_ray.pop("abort_model")
    assert crashed["failure"] == "crash" and "SIGABRT" in crashed["error"]
    assert {m: {k: r[k] for k in QUALITY} for m, r in on_ray.items()} == {
        m: {k: r[k] for k in QUALITY} for m, r in local.items()}


def test_ray_matches_the_in_process_run_where_blas_threads_matter(local_ray, tmp_path):
    """logreg on 4,096 pixel features: Ray gives its task OMP_NUM_THREADS=1 and lbfgs lands
    elsewhere with another BLAS thread count; ``--deterministic`` pins it, so the default
    (in-process) executor and Ray agree."""
    common = ["run", "--model", "logreg", "--dataset", "breastmnist_64", "--profile", "quick",
              "--deterministic"]
    assert main([*common, "--executor", "ray", "--output", str(tmp_path / "ray")]) == 0
    assert main([*common, "--output", str(tmp_path / "local")]) == 0
    on_ray, local = _records(tmp_path / "ray")["logreg"], _records(tmp_path / "local")["logreg"]
    assert {k: on_ray[k] for k in QUALITY} == {k: local[k] for k in QUALITY}
