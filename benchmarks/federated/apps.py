"""The Flower ClientApp and ServerApp of a federated oncobench job.

The same two apps run in Flower's simulation engine (``benchmarks.federated.simulate``) and in
a real deployment (``flower-superlink`` + one ``flower-supernode`` per site, see the README):

- a client reads its share with ``partition-id`` from its node config; the job folder comes
  from its node config ``job`` or else from the server's message config;
- the server reads the job folder from its run config ``job`` (deployment) or from
  ``make_server_app(folder)`` (simulation), trains for the job's rounds, evaluates the global
  model on the test split after every round and writes ``result.json`` and the final weights.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from benchmarks.core.atomic import atomic_write_text
from benchmarks.federated.job import RESULT_JSON, WEIGHTS_NPZ, read_job
from benchmarks.federated.strategies import CountingStrategy, make_strategy, privacy_statement
from benchmarks.federated.training import local_model

client_app = ClientApp()


def _client(msg: Message, context: Context):
    cfg = msg.content["config"]
    job = read_job(context.node_config.get("job") or cfg["job"])
    cid = int(context.node_config["partition-id"])
    lm = local_model(job)
    lm.set_weights(msg.content["arrays"].to_numpy_ndarrays())
    return job, cid, lm, cfg


@client_app.train()
def train(msg: Message, context: Context) -> Message:
    """Local epochs on this site's training share; reply with the new weights."""
    job, cid, lm, cfg = _client(msg, context)
    x, y, _, _ = job.client_data(cid)
    rnd = int(cfg["server-round"])
    loss = lm.fit(x, y, job.federated.local_epochs, float(cfg.get("proximal-mu", 0.0)),
                  seed=job.seed * 100_003 + rnd * 1_009 + cid)
    content = RecordDict({"arrays": ArrayRecord(lm.model.get_weights()),
                          "metrics": MetricRecord({"train_loss": loss, "num-examples": len(x)})})
    return Message(content=content, reply_to=msg)


@client_app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """The global model on this site's own validation split."""
    job, cid, lm, _ = _client(msg, context)
    _, _, xv, yv = job.client_data(cid)
    out = lm.evaluate(xv, yv)
    content = RecordDict({"metrics": MetricRecord({"val_loss": out["loss"], "val_accuracy": out["accuracy"],
                                                   "num-examples": len(xv)})})
    return Message(content=content, reply_to=msg)


def best_round(val: dict[int, dict[str, float]], rounds: int) -> int:
    """The round whose global model had the lowest clients' validation loss (as early stopping
    restores the best epoch in a centralised run); the last round without validation losses."""
    losses = {r: m["val_loss"] for r, m in val.items() if isinstance(m.get("val_loss"), float)
              and m["val_loss"] == m["val_loss"]}
    return min(losses, key=lambda r: (losses[r], -r)) if losses else rounds


def run_server(grid: Grid, folder: Path) -> dict:
    """Run the job's rounds on ``grid``; write and return the result."""
    job = read_job(folder)
    fed = job.federated
    random.seed(job.seed)  # Flower samples nodes with ``random``
    data = job.data()
    lm = local_model(job)
    curve: dict[int, dict[str, float]] = {}
    snapshots: dict[int, list[np.ndarray]] = {}

    def evaluate_fn(rnd: int, arrays: ArrayRecord) -> MetricRecord:
        snapshots[rnd] = arrays.to_numpy_ndarrays()
        lm.set_weights(snapshots[rnd])
        curve[rnd] = lm.evaluate(data["x_test"], data["y_test"])
        return MetricRecord(curve[rnd])

    inner = make_strategy(fed)
    strategy = CountingStrategy(inner)
    cfg = ConfigRecord({"job": str(Path(folder).resolve())})
    t0 = time.perf_counter()
    result = strategy.start(grid=grid, initial_arrays=ArrayRecord(lm.model.get_weights()),
                            num_rounds=fed.rounds, train_config=cfg, evaluate_config=ConfigRecord(dict(cfg)),
                            evaluate_fn=evaluate_fn)
    wall = time.perf_counter() - t0
    val = {int(r): dict(m) for r, m in result.evaluate_metrics_clientapp.items()}
    rounds = range(1, fed.rounds + 1)
    best = best_round(val, fed.rounds)
    np.savez(Path(folder) / WEIGHTS_NPZ, *snapshots.get(best, result.arrays.to_numpy_ndarrays()))
    out = {
        "best_round": best,
        "rounds_wall_s": wall,
        "round_test_accuracy": [curve.get(r, {}).get("accuracy") for r in rounds],
        "round_test_loss": [curve.get(r, {}).get("loss") for r in rounds],
        "initial_test_accuracy": curve.get(0, {}).get("accuracy"),
        "round_val_loss": [val.get(r, {}).get("val_loss") for r in rounds],
        "round_val_accuracy": [val.get(r, {}).get("val_accuracy") for r in rounds],
        "bytes_down": [strategy.down.get(r, 0) for r in rounds],
        "bytes_up": [strategy.up.get(r, 0) for r in rounds],
        "privacy": privacy_statement(inner, fed),
    }
    atomic_write_text(Path(folder) / RESULT_JSON, json.dumps(out, indent=1) + "\n")
    return out


server_app = ServerApp()


@server_app.main()
def main(grid: Grid, context: Context) -> None:
    """Deployment entry point: the job folder comes from the run config ``job``."""
    run_server(grid, Path(str(context.run_config["job"])))


def make_server_app(folder: Path) -> ServerApp:
    """A ServerApp bound to ``folder`` (simulation: the run config is empty there)."""
    app = ServerApp()

    @app.main()
    def _main(grid: Grid, context: Context) -> None:
        run_server(grid, Path(folder))

    return app
