"""An ``Explainable`` from a finished run, without retraining Keras models.

- Keras: the model is rebuilt from the registry with the record's hyper-parameters and seed,
  and the saved best-epoch weights (``checkpoints/*.weights.h5``) are loaded.
- scikit-learn: no estimator is stored (unpickling files is unsafe); the estimator is refitted
  on the same training split with the record's seed. The baselines are deterministic and
  cheap; ``refit_max_abs_diff`` (largest difference to the recorded test probabilities)
  checks that the refit reproduces the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.errors import OncobenchError
from benchmarks.explain.target import Explainable
from benchmarks.metrics.classification import probabilities
from datasets.base import Dataset

RANDOM_SEED_OFFSET = 10_007  # the randomised model's seed: the run's seed plus this


def _hparams(record: dict[str, Any]) -> dict[str, Any]:
    """The record's hyper-parameters, JSON lists back to tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in (record.get("hparams") or {}).items()}


def checkpoint_path(record: dict[str, Any], run_dir: Path) -> Path:
    """The record's Keras checkpoint; a one-line error when the record or the file lacks it."""
    rel = record.get("checkpoint")
    path = Path(run_dir) / rel if rel else None
    if path is None or not path.is_file():
        where = f" ({path})" if path else ""
        raise OncobenchError(f"{run_dir}: no saved checkpoint for {record.get('key')}{where}; "
                             "explain needs the run's checkpoints/ folder (rerun the benchmark)")
    return path


def _built(record: dict[str, Any], input_shape: Any, num_classes: int, weights: Path | None,
           seed: int) -> Any:
    """The record's Keras model rebuilt in float32 with its seed, and its weights loaded."""
    import keras

    from models.registry import get_model

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(seed)
    model = get_model(record["model"]).create(input_shape, num_classes, _hparams(record), seed=seed)
    if weights is not None:
        model.load_weights(str(weights))
    return model


def _keras(record: dict[str, Any], ds: Dataset, weights: Path | None, seed: int) -> Explainable:
    from benchmarks.adapters.keras import predict_batches

    model = _built(record, ds.input_shape, ds.num_classes, weights, seed)

    def predict(x: np.ndarray) -> np.ndarray:
        raw = predict_batches(model.predict_on_batch, np.asarray(x, dtype=np.float32), 1024)
        return probabilities(raw, ds.num_classes)

    return Explainable(record["model"], "keras", ds.num_classes, predict, model)


def _fusion(record: dict[str, Any], ds: Dataset, weights: Path | None, seed: int) -> Explainable:
    """A fusion model over the concatenated blocks: a block counts as present in a row unless all
    its features are 0 (absent blocks are zeros; so a block deleted whole is masked, as at test)."""
    from datasets.multiblock import block_inputs

    model = _built(record, ds.block_shapes, ds.num_classes, weights, seed)

    def predict(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        mask = np.stack([(x[:, b.start:b.stop] != 0).any(axis=1) for b in ds.blocks], axis=1)
        raw = np.concatenate([np.asarray(model.predict_on_batch(block_inputs(ds.blocks, x[i:i + 1024],
                                                                             mask[i:i + 1024])))
                              for i in range(0, len(x), 1024)]) if len(x) else np.zeros((0, ds.num_classes))
        return probabilities(raw, ds.num_classes)

    return Explainable(record["model"], "fusion", ds.num_classes, predict, model)


def _sklearn(record: dict[str, Any], ds: Dataset, seed: int, shuffle_labels: bool) -> Explainable:
    from benchmarks.adapters.sklearn import flat, full_proba
    from models.registry import get_model

    est = get_model(record["model"]).create(ds.input_shape, ds.num_classes, _hparams(record),
                                            seed=int(record["seed"]))
    y = ds.train.y
    if shuffle_labels:
        y = np.random.default_rng(seed).permutation(y)
    est.fit(flat(ds.train.floats()), y)
    return Explainable(record["model"], "sklearn", ds.num_classes,
                       lambda x: full_proba(est, x, ds.num_classes), est)


def restore(record: dict[str, Any], ds: Dataset, run_dir: Path) -> tuple[Explainable, dict[str, Any]]:
    """The trained model of ``record`` and how it was restored (facts for the record)."""
    framework = record.get("framework")
    if framework == "keras":
        path = checkpoint_path(record, run_dir)
        return _keras(record, ds, path, int(record["seed"])), {"restored": f"weights {record['checkpoint']}"}
    if framework == "fusion":
        path = checkpoint_path(record, run_dir)
        return _fusion(record, ds, path, int(record["seed"])), {"restored": f"weights {record['checkpoint']}"}
    if framework == "sklearn":
        target = _sklearn(record, ds, int(record["seed"]), shuffle_labels=False)
        facts: dict[str, Any] = {"restored": "refitted with the record's seed (deterministic)"}
        scores = record.get("test_scores")
        if scores is not None and np.shape(scores) == (len(ds.test), ds.num_classes):
            got = target.predict_proba(ds.test.floats())
            facts["refit_max_abs_diff"] = float(np.max(np.abs(got - np.asarray(scores)))) if len(got) else 0.0
        return target, facts
    raise OncobenchError(f"{record.get('key')}: cannot explain framework {framework!r} "
                         "(keras, fusion, sklearn)")


def randomised(record: dict[str, Any], ds: Dataset) -> tuple[Explainable, str]:
    """The model-randomisation control of ``record`` (see ``sanity``) and what it is."""
    seed = int(record["seed"]) + RANDOM_SEED_OFFSET
    if record.get("framework") == "keras":
        return _keras(record, ds, None, seed), "same architecture, re-initialised weights"
    if record.get("framework") == "fusion":
        return _fusion(record, ds, None, seed), "same architecture, re-initialised weights"
    return _sklearn(record, ds, seed, shuffle_labels=True), "same estimator fitted on shuffled labels"
