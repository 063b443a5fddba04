"""Multi-device training for one run on CPU: MirroredStrategy over 2 logical CPU devices, and
MultiWorkerMirroredStrategy with two local worker processes (the adapter's own distributed loop:
Keras 3's fit cannot, keras-team/keras#20585), each in a subprocess (the device
layout and TF_CONFIG must be set before TensorFlow initialises)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest_data import free_ports

ROOT = Path(__file__).resolve().parent.parent
RUN = ["run", "--model", "dnn", "--dataset", "wisconsin", "--profile", "quick", "--batch-size", "16"]
MIRRORED = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from benchmarks.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _record(out: Path) -> dict:
    (rec,) = json.loads((out / "results.json").read_text())["records"]
    return rec


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", MIRRORED, *RUN, "--strategy", "mirrored", "--scaling",
                           "--executor", "inprocess",  # the two logical CPUs are this process's
                           "--output", str(out)], env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = _record(out)
    assert rec["status"] == "ok" and rec["accuracy"] > 0.8
    assert rec["replicas"] == 2 and rec["global_batch_size"] == 32
    assert rec["config"]["strategy"] == "mirrored"
    assert rec["scaling_efficiency"] > 0 and rec["single_replica_samples_per_s"] > 0


@pytest.mark.slow
def test_multiworker_with_two_local_workers(tmp_path):
    ports = free_ports(2)
    workers = [f"127.0.0.1:{p}" for p in ports]
    procs = []
    for i in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "benchmarks", *RUN, "--strategy", "multiworker",
             "--output", str(tmp_path / f"w{i}")], env=_env(TF_CONFIG=tf_config),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    recs = [_record(tmp_path / f"w{i}") for i in range(2)]
    for rec in recs:
        assert rec["status"] == "ok" and rec["replicas"] == 2 and rec["global_batch_size"] == 32
        assert rec["accuracy"] > 0.8 and rec["epochs"] == len(rec["curves"]["val_loss"]) >= 1
    # synchronous training: both workers hold the same model, so the same predictions; the
    # validation logs are agreed across workers, so the same curves and early-stopping epoch
    assert recs[0]["test_scores"] == recs[1]["test_scores"]
    assert recs[0]["curves"] == recs[1]["curves"] and recs[0]["best_epoch"] == recs[1]["best_epoch"]
