"""Fusion adapter: trains ``models.fusion`` networks on a ``MultiBlockDataset``.

The model's inputs are a dict keyed by block name plus the block mask
(``datasets.multiblock.block_inputs``); multi-omics sets are small, so they are held in memory
and fed to ``model.fit`` as arrays. Compilation, schedule, class weights, the monitor and the
divergence guard are the Keras adapter's; so are the cost fields of the record.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from benchmarks import measure
from benchmarks.adapters.base import AdapterResult, RunContext, resolve_recipe
from benchmarks.adapters.keras import (
    TrainingDiverged,
    _flops_fields,
    _seed_and_policy,
    best_epoch_keeper,
    class_weights,
    compile_model,
    divergence_guard,
    kept_epoch,
    lr_schedule,
    monitor_for,
)
from benchmarks.config import RunConfig
from benchmarks.core.errors import OncobenchError
from benchmarks.core.paths import safe_filename
from datasets.base import Dataset
from datasets.multiblock import block_inputs, is_multiblock
from models.registry import ModelSpec


class FusionAdapter:
    """Fits a fusion model on the train (and, with monitor "none", val) blocks; predicts test."""

    def run(self, spec: ModelSpec, ds: Dataset, seed: int, config: RunConfig,
            hp: dict[str, Any], ctx: RunContext) -> AdapterResult:

        if not is_multiblock(ds):
            raise OncobenchError(f"model {spec.name!r} fuses blocks of a multi-block dataset; {ds.name!r} "
                                 "has none: use breast_tcga or a multi: dataset")
        if config.strategy != "none":
            raise OncobenchError(f"model {spec.name!r}: --strategy {config.strategy} is not supported for "
                                 "fusion models; drop --strategy")
        _seed_and_policy(seed, config)
        recipe = resolve_recipe(spec, config)
        monitor = monitor_for(recipe, ds.num_classes, len(ds.val))
        mode = "max" if monitor == "val_auc" else "min"
        model = spec.create(ds.block_shapes, ds.num_classes, hp, seed=seed)
        x, m, y = ds.train.x, ds.train.mask, ds.train.y
        if monitor == "none":  # nothing selected on validation: it trains too
            x, m, y = (np.concatenate([a, b]) for a, b in ((x, ds.val.x), (m, ds.val.mask), (y, ds.val.y)))
        batch = max(1, min(config.batch_size, len(y)))
        steps = math.ceil(len(y) / batch)
        schedule = lr_schedule(recipe.schedule, config.learning_rate, config.epochs, steps,
                               recipe.warmup_epochs)
        compile_model(model, ds.num_classes, config, schedule, recipe=recipe, monitor=monitor)
        weights = class_weights(y, ds.num_classes, recipe.class_weight)
        timer, guard = measure.make_timing_callback(config.target), divergence_guard()
        stop = best_epoch_keeper(monitor, mode, recipe, config.patience, config.epochs)
        val = None if monitor == "none" else (block_inputs(ds.blocks, ds.val.x, ds.val.mask), ds.val.y)
        t0 = time.perf_counter()
        hist = model.fit(block_inputs(ds.blocks, x, m), y, batch_size=batch, epochs=config.epochs,
                         shuffle=True,
                         validation_data=val, callbacks=[*stop, timer, guard, *ctx.callbacks],
                         verbose=config.verbose, class_weight=weights)
        train_time = time.perf_counter() - t0
        if guard.reason:
            raise TrainingDiverged(f"training diverged: {guard.reason}; lower --lr or check the input "
                                   "scaling")
        ckpt_dir = ctx.run_dir / "checkpoints"
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        ckpt = ckpt_dir / f"{safe_filename(ctx.key.replace('|', '__'), 100)}.weights.h5"
        model.save_weights(str(ckpt))
        curves = {k: [float(v) for v in hist.history.get(k, [])]
                  for k in ("loss", "val_loss", "accuracy", "val_accuracy")}
        best = kept_epoch(monitor, mode, recipe, hist.history.get(monitor, []), len(curves["loss"]))
        test = ds.test
        proba = np.concatenate([np.asarray(model.predict_on_batch(block_inputs(
            ds.blocks, test.x[i:i + config.batch_size], test.mask[i:i + config.batch_size])))
            for i in range(0, len(test), config.batch_size)])
        present = test.mask.any(axis=0)  # timing: every block present at test, for every sample
        predict = lambda rows: model.predict_on_batch(  # noqa: E731
            block_inputs(ds.blocks, rows, np.broadcast_to(present, (len(rows), present.size))))
        sample, timed_batch = measure.timing_sample(test, config.batch_size)
        cost = {
            **measure.fit_costs(train_time, timer.epoch_times, len(curves["loss"]), best),
            **measure.steady_throughput(timer.epoch_times, timer.epoch_steps, len(y)),
            **measure.inference_costs(predict, sample, timed_batch, config.inference_min_time_s,
                                      config.latency_calls),
            "params": int(model.count_params()),
            "trainable_params": int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)),
            "checkpoint": str(ckpt.relative_to(ctx.run_dir)),
            "curves": curves,
            "time_to_target_s": timer.time_to_target_s,
            "epoch_to_target": timer.epoch_to_target,
            "gpu_peak_memory_mb": measure.gpu_peak_memory_mb(),
            "data_cached": True,
            **measure.memory_fields(ds),
            "recipe": {**recipe.as_dict(), "monitor": monitor, "class_weights": weights},
            "feature_selection": None,
            "replicas": 1, "global_batch_size": batch, "scaling_efficiency": None,
            "single_replica_samples_per_s": None,
        }
        cost.update(_flops_fields(model, cost))  # None: a dict-input graph is not profiled
        return AdapterResult(proba, cost)


ADAPTER = FusionAdapter()
