"""Federated mode (issue 16): partitions, limits (exit 2 before anything runs), records and labels,
and one small Flower simulation (slow)."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
from conftest_data import free_ports

from benchmarks.cli import main
from benchmarks.config.federated import FederatedConfig, validate_federated
from benchmarks.core.errors import OncobenchError
from benchmarks.federated.partition import label_counts, partition
from benchmarks.records.federated import central_gaps, model_label
from benchmarks.records.tables import comparison_table

FED = ["run", "--model", "dnn", "--dataset", "wisconsin", "--profile", "quick", "--federated", "fedavg"]
HAS_FLOWER = all(importlib.util.find_spec(m) for m in ("flwr", "ray"))
# The Flower runs (a simulation, a localhost deployment) take minutes on 2 cores: out of the default
# suite; CI runs them with ONCOBENCH_FEDERATED_TESTS=1 after pip install ".[federated]".
FLOWER_RUNS = pytest.mark.skipif(
    not (HAS_FLOWER and os.environ.get("ONCOBENCH_FEDERATED_TESTS") == "1"),
    reason='Flower runs: set ONCOBENCH_FEDERATED_TESTS=1 (needs pip install ".[federated]")')


def _labels(n: int = 200, k: int = 2) -> np.ndarray:
    return np.arange(n) % k


def test_iid_partition_is_deterministic_disjoint_and_keeps_validation():
    y = _labels()
    a = partition(y, "iid", 4, seed=3, val_fraction=0.2)
    b = partition(y, "iid", 4, seed=3, val_fraction=0.2)
    c = partition(y, "iid", 4, seed=4, val_fraction=0.2)
    assert all(np.array_equal(s.train, t.train) and np.array_equal(s.val, t.val) for s, t in zip(a, b))
    assert any(not np.array_equal(s.train, t.train) for s, t in zip(a, c))
    every = np.concatenate([np.concatenate([s.train, s.val]) for s in a])
    assert sorted(every.tolist()) == list(range(len(y)))  # disjoint and complete
    assert all(len(s.val) >= 1 and len(s.train) >= 1 for s in a)
    assert [len(s.train) + len(s.val) for s in a] == [50] * 4


def test_dirichlet_small_alpha_skews_labels_large_alpha_does_not():
    y = _labels(400)
    skewed = label_counts(y, partition(y, "dirichlet:0.1", 4, seed=0, val_fraction=0.1), 2)
    even = label_counts(y, partition(y, "dirichlet:1000", 4, seed=0, val_fraction=0.1), 2)

    def share(counts):  # the largest fraction of one class in a client, averaged over clients
        return float(np.mean([max(c) / sum(c) for c in counts]))

    assert share(skewed) > 0.8
    assert share(even) < 0.6


def test_by_column_one_client_per_site():
    y = _labels(12)
    sites = np.array(["a", "b", "c"] * 4)
    parts = partition(y, "by-column:site", 3, seed=0, val_fraction=0.25, sites=sites)
    for p, site in zip(parts, ["a", "b", "c"]):
        assert set(sites[np.concatenate([p.train, p.val])]) == {site}
    with pytest.raises(OncobenchError, match="has no site column"):
        partition(y, "by-column:site", 3, seed=0, val_fraction=0.25)
    with pytest.raises(OncobenchError, match="3 sites, but --clients 4"):
        partition(y, "by-column:site", 4, seed=0, val_fraction=0.25, sites=sites)


@pytest.mark.parametrize("spec,clients,message", [
    ("iid", 101, "more clients than the 200 training samples"),
    ("dirichlet:0", 2, "ALPHA must be a number > 0"),
    ("dirichlet:0.001", 50, "fewer than 2 samples"),
    ("stripes", 2, "expected iid, dirichlet:ALPHA"),
])
def test_impossible_partitions_raise(spec, clients, message):
    with pytest.raises(OncobenchError, match=message):
        partition(_labels(), spec, clients, seed=0, val_fraction=0.2)


def test_settings_validation_and_label():
    fed = FederatedConfig(strategy="fedavg", clients=5, partition="dirichlet:0.5")
    assert fed.label() == "fedavg (5 clients, dirichlet 0.5)"
    assert "|" not in FederatedConfig(partition="by-column:a|b").tag()
    for bad, match in [(dict(strategy="fedsgd"), "valid: central, fedavg"), (dict(clients=1), "at least 2"),
                       (dict(rounds=0), "--rounds 0"), (dict(fraction_fit=0.0), "--fraction-fit"),
                       (dict(dp_noise=1.0), "go together"), (dict(dp_noise=1.0, dp_clip=0.0), "--dp-clip")]:
        with pytest.raises(OncobenchError, match=match):
            validate_federated(FederatedConfig(**bad))


@pytest.mark.skipif(not HAS_FLOWER, reason="needs Flower")
def test_best_round_is_lowest_validation_loss():
    from benchmarks.federated.apps import best_round

    assert best_round({1: {"val_loss": 0.5}, 2: {"val_loss": 0.3}, 3: {"val_loss": 0.4}}, 3) == 2
    assert best_round({1: {"val_loss": float("nan")}}, 4) == 4
    assert best_round({}, 5) == 5


def test_labels_gaps_and_side_by_side_table():
    base = {"model": "dnn", "dataset": "wisconsin", "seed": 0, "fold": None, "status": "ok",
            "accuracy": 0.95, "f1_macro": 0.9, "roc_auc": 0.97, "device_kind": "CPU"}
    fed = {**base, "key": "dnn|wisconsin|0|-|fedavg", "accuracy": 0.93,
           "fed_label": "fedavg (5 clients, iid)", "bytes_total": 1000}
    prox = {**fed, "key": "dnn|wisconsin|0|-|fedprox", "accuracy": 0.96,
            "fed_label": "fedprox (5 clients, iid)"}
    records = [{**base, "key": "dnn|wisconsin|0|-"}, fed, prox]
    assert model_label(fed) == "dnn · fedavg (5 clients, iid)" and model_label(base) == "dnn"
    gaps = central_gaps(records)
    assert gaps["dnn|wisconsin|0|-|fedavg"]["accuracy"] == pytest.approx(-0.02)
    assert gaps["dnn|wisconsin|0|-|fedprox"]["accuracy"] == pytest.approx(0.01)
    table = comparison_table([{**r, "accuracy_gap": gaps.get(r["key"], {}).get("accuracy")} for r in records])
    lines = table.splitlines()
    assert "accuracy gap to central" in lines[0] and "bytes sent" in lines[0]
    assert any("dnn · fedprox (5 clients, iid)" in ln and "0.010" in ln for ln in lines)
    assert any("dnn · fedavg (5 clients, iid)" in ln and "-0.020" in ln for ln in lines)
    assert "bytes sent" not in comparison_table([records[0]])  # centralised-only tables unchanged


def _site_csv(tmp_path):
    import pandas as pd

    from tests.conftest_data import expression_frame

    df, labels = expression_frame(60, 10)
    df.insert(0, "diagnosis", labels)
    df.insert(1, "hospital", [f"site{i % 3}" for i in range(60)])
    path = tmp_path / "sites.csv"
    pd.DataFrame(df).to_csv(path, index=False)
    return path


def test_by_column_reads_sites_from_a_csv_and_drops_the_column(tmp_path):
    from datasets.base import LoadOptions
    from datasets.registry import get_dataset

    path = _site_csv(tmp_path)
    opts = LoadOptions(label_column="diagnosis", site_column="hospital")
    ds = get_dataset(f"csv:{path}").load(opts)
    assert ds.input_shape == (9,)  # 10 genes, one constant dropped; the site column is no feature
    fed = FederatedConfig(clients=3, partition="by-column:hospital")
    from benchmarks.federated.preflight import client_splits, pool, sites_of

    sites = sites_of(ds)
    assert len(sites) == len(ds.train) + len(ds.val)
    parts = client_splits(ds, fed, seed=0)
    assert [set(sites[np.concatenate([p.train, p.val])]) for p in parts] == [{"site0"}, {"site1"}, {"site2"}]
    assert len(pool(ds)[0]) == len(sites)
    with pytest.raises(OncobenchError, match="no site column 'clinic'"):
        get_dataset(f"csv:{path}").load(LoadOptions(label_column="diagnosis", site_column="clinic"))


def test_non_keras_model_refuses_federated(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--model", "logreg", "--dataset", "wisconsin", "--profile", "quick",
            "--federated", "fedavg"]
    assert main([*args, "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "sklearn model; federated training needs a Keras model" in err[-1]
    assert not out.exists()


def test_impossible_partition_is_exit_2_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*FED, "--clients", "5000", "--output", str(out)]) == 2
    assert "more clients than the" in capsys.readouterr().err
    assert not out.exists()


def test_missing_extra_says_what_to_install(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "flwr" else real(name, *a))
    out = tmp_path / "run"
    assert main([*FED, "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert 'pip install "oncobench[federated]"' in err[-1]
    assert not out.exists()


def test_dp_flags_need_federated(tmp_path, capsys):
    args = ["run", "--model", "dnn", "--dataset", "wisconsin", "--dp-noise", "1", "--dp-clip", "1"]
    assert main([*args, "--output", str(tmp_path / "run")]) == 2
    assert "needs --federated" in capsys.readouterr().err


@pytest.mark.slow
@FLOWER_RUNS
def test_simulation_record_next_to_central(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--model", "dnn", "--dataset", "wisconsin", "--profile", "quick",
                 "--federated", "central,fedprox", "--clients", "2", "--rounds", "2",
                 "--dp-noise", "0.001", "--dp-clip", "100", "--output", str(out)]) == 0
    records = json.loads((out / "results.json").read_text())["records"]
    central = next(r for r in records if not r.get("fed_label"))
    fed = next(r for r in records if r.get("fed_label"))
    assert fed["key"] != central["key"] and fed["status"] == "ok"
    assert fed["federated"]["strategy"] == "fedprox" and fed["federated"]["rounds"] == 2
    assert len(fed["round_curves"]["round_test_accuracy"]) == 2
    best = fed["federated"]["best_round"]  # the round with the lowest clients' validation loss
    val_losses = fed["round_curves"]["round_val_loss"]
    assert val_losses[best - 1] == min(val_losses)
    assert fed["round_curves"]["round_test_accuracy"][best - 1] == pytest.approx(fed["accuracy"], abs=1e-6)
    n_weights = fed["params"] * 4
    assert fed["bytes_up_per_round"][0] >= 2 * n_weights  # two clients each sent the model up
    assert fed["bytes_total"] == sum(fed["bytes_down_per_round"]) + sum(fed["bytes_up_per_round"])
    assert fed["accuracy_gap"] == pytest.approx(fed["accuracy"] - central["accuracy"])
    assert fed["dp"]["noise_multiplier"] == 0.001 and "clip" in fed["dp"]["statement"]
    assert fed["accuracy"] > 0.8
    assert "dnn · fedprox (2 clients, iid, DP" in (out / "summary.md").read_text()


def _wait_for_port(port: int, timeout: float = 120) -> None:
    import socket
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _wisconsin_job(folder, rounds: int = 2, clients: int = 2):
    from benchmarks.config import get_profile
    from benchmarks.federated.job import write_job
    from benchmarks.federated.preflight import client_splits, pool
    from datasets.base import LoadOptions
    from datasets.registry import get_dataset
    from models.registry import get_model

    fed = FederatedConfig(strategy="fedavg", clients=clients, rounds=rounds)
    config = get_profile("quick").with_(federated=fed)
    ds = get_dataset("wisconsin").load(LoadOptions(seed=0))
    x, y, _ = pool(ds)
    return write_job(folder, model="dnn", hparams=get_model("dnn").hparams(), seed=0, config=config, x=x, y=y,
                     splits=client_splits(ds, fed, 0), x_test=ds.test.x, y_test=ds.test.y,
                     num_classes=ds.num_classes)


@pytest.mark.slow
@FLOWER_RUNS
def test_deployment_on_localhost_matches_simulation(tmp_path):
    """A SuperLink and two SuperNodes as processes on 127.0.0.1 run the same apps for two rounds;
    the result matches the simulation of the same job within tolerance."""
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    from benchmarks.federated.deploy import write_app, write_connection
    from benchmarks.federated.job import RESULT_JSON
    from benchmarks.federated.simulate import simulate

    job = _wisconsin_job(tmp_path / "job")
    simulated = simulate(job)
    (job.folder / RESULT_JSON).unlink()

    bin_dir = Path(sys.executable).parent
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "FLWR_HOME": str(tmp_path / "flwr"),
           "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    link, n0, n1 = free_ports(3)  # Flower 1.42: one HTTP port per SuperLink / SuperNode
    write_connection(tmp_path / "flwr", f"127.0.0.1:{link}")
    app = write_app(tmp_path / "app")
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = []

    def start(name: str, *args: str) -> None:
        out = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen([str(bin_dir / args[0]), *args[1:]], env=env, stdout=out,
                                      stderr=subprocess.STDOUT, cwd=tmp_path))

    try:
        start("superlink", "flower-superlink", "--insecure", "--database", str(tmp_path / "state.db"),
              "--port", str(link))
        for i, port in enumerate((n0, n1)):
            start(f"supernode{i}", "flower-supernode", "--insecure", "--superlink", f"127.0.0.1:{link}",
                  "--port", str(port), "--node-config", f"partition-id={i} num-partitions=2")
        _wait_for_port(link)
        for _ in range(3):  # the SuperLink may still be starting its services
            run = subprocess.run([str(bin_dir / "flwr"), "run", str(app), "local", "--stream",
                                  "--run-config", f"job='{job.folder}'"], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=600)
            if run.returncode == 0:
                break
            time.sleep(5)
        deadline = time.time() + (300 if run.returncode == 0 else 0)
        while not (job.folder / RESULT_JSON).exists() and time.time() < deadline:
            time.sleep(1)
        assert (job.folder / RESULT_JSON).exists(), run.stdout[-2000:] + run.stderr[-2000:] + "".join(
            p.read_text()[-1500:] for p in logs.iterdir())
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp_path / "flwr", ignore_errors=True)
    deployed = json.loads((job.folder / RESULT_JSON).read_text())
    assert len(deployed["round_test_accuracy"]) == 2
    assert deployed["bytes_up"] == simulated["bytes_up"]
    assert deployed["bytes_down"] == simulated["bytes_down"]
    for a, b in zip(deployed["round_test_accuracy"], simulated["round_test_accuracy"]):
        assert a == pytest.approx(b, abs=0.03)


@pytest.mark.skipif(not HAS_FLOWER, reason="needs Flower")
def test_strategies_by_name_and_dp_statement():
    from flwr.serverapp.strategy import (
        DifferentialPrivacyServerSideFixedClipping,
        FedAdam,
        FedAvg,
        FedProx,
    )

    from benchmarks.federated.strategies import make_strategy, privacy_statement

    kinds = {"fedavg": FedAvg, "fedprox": FedProx, "fedadam": FedAdam}
    for name, cls in kinds.items():
        strategy = make_strategy(FederatedConfig(strategy=name, clients=4, fraction_fit=0.5))
        assert type(strategy) is cls and strategy.min_train_nodes == 2 and strategy.min_available_nodes == 4
    assert make_strategy(FederatedConfig(strategy="fedprox", proximal_mu=0.3)).proximal_mu == 0.3
    fed = FederatedConfig(clients=4, rounds=3, dp_noise=0.8, dp_clip=2.0)
    dp = make_strategy(fed)
    assert isinstance(dp, DifferentialPrivacyServerSideFixedClipping)
    assert (dp.noise_multiplier, dp.clipping_norm, dp.num_sampled_clients) == (0.8, 2.0, 4)
    stmt = privacy_statement(dp, fed)
    assert stmt["noise_stdev"] == pytest.approx(0.8 * 2.0 / 4) and "no epsilon" in stmt["statement"]
    assert privacy_statement(make_strategy(FederatedConfig()), FederatedConfig()) is None
