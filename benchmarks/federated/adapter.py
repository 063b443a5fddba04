"""Federated adapter: trains a Keras model with Flower (simulation engine) when the run
config has ``federated`` set; predicts the test split with the final global model and
measures it as the Keras adapter does. Flower and TensorFlow are imported inside ``run``."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters.base import AdapterResult, RunContext
from benchmarks.adapters.keras import predict_batches
from benchmarks.config import RunConfig
from benchmarks.core.paths import safe_filename
from benchmarks.federated import require_flower
from benchmarks.federated.partition import label_counts
from benchmarks.federated.preflight import check_model, client_splits, pool
from datasets.base import Dataset
from models.registry import ModelSpec


class FederatedAdapter:
    """Trains ``spec`` over ``config.federated.clients`` simulated sites; see the module docstring."""

    def run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:
        from benchmarks.federated.job import WEIGHTS_NPZ, write_job
        from benchmarks.federated.simulate import simulate
        from benchmarks.federated.training import build_model

        fed = config.federated
        check_model(spec)
        require_flower()
        splits = client_splits(ds, fed, seed)
        x, y, _ = pool(ds)
        folder = ctx.run_dir / "federated" / safe_filename(ctx.key.replace("|", "__"), 120)
        job = write_job(folder, model=spec.name, hparams=hp, seed=seed, config=config, x=x, y=y,
                        splits=splits, x_test=ds.test.x, y_test=ds.test.y, num_classes=ds.num_classes)
        t0 = time.perf_counter()
        res = simulate(job, verbose=bool(config.verbose))
        wall = time.perf_counter() - t0
        model = build_model(job)
        with np.load(folder / WEIGHTS_NPZ) as z:
            model.set_weights([z[f"arr_{i}"] for i in range(len(z.files))])
        predict = model.predict_on_batch
        proba = predict_batches(predict, ds.test.x, config.batch_size)
        down, up = res["bytes_down"], res["bytes_up"]
        cost = {
            "train_time_s": res["rounds_wall_s"],
            "federated_wall_s": wall,
            "epochs": None,
            "inference_samples_per_s": measure.inference_throughput(
                predict, ds.test.x, config.batch_size, config.inference_min_time_s),
            "inference_batch_size": measure.timed_batch_size(config.batch_size, ds.test.x),
            **measure.latency_ms(predict, ds.test.x[:1], config.latency_calls),
            "params": int(model.count_params()),
            "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
            "federated": {
                "strategy": fed.strategy, "clients": fed.clients, "partition": fed.partition,
                "rounds": fed.rounds, "local_epochs": fed.local_epochs, "fraction_fit": fed.fraction_fit,
                "best_round": res["best_round"],
                "proximal_mu": fed.proximal_mu if fed.strategy == "fedprox" else None,
                "server_lr": fed.server_lr if fed.strategy == "fedadam" else None,
                "label": fed.label(), "engine": "flower simulation (ray)",
                "client_train_sizes": [len(s.train) for s in splits],
                "client_val_sizes": [len(s.val) for s in splits],
                "client_label_counts": label_counts(y, splits, ds.num_classes),
            },
            "fed_strategy": fed.strategy,
            "fed_label": fed.label(),
            "round_curves": {k: res[k] for k in ("round_test_accuracy", "round_test_loss", "round_val_loss",
                                                  "round_val_accuracy")},
            "bytes_down_per_round": down,
            "bytes_up_per_round": up,
            "bytes_total": int(sum(down) + sum(up)),
            "dp": res.get("privacy"),
        }
        return AdapterResult(proba, cost)


ADAPTER = FederatedAdapter()
