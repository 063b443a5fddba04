"""A federated job on disk: what the ClientApp and ServerApp need, in any process.

``job.json`` (model, hyper-parameters, compile settings, federated settings, seed) and
``data.npz`` (the training pool, each client's indices, the test split). The simulation
passes the folder to its apps; a real deployment passes it with ``--run-config`` (server) and
``--node-config`` (each site), see ``benchmarks.federated.apps``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.config import RunConfig
from benchmarks.config.federated import FederatedConfig
from benchmarks.core.atomic import atomic_write_text
from benchmarks.federated.partition import ClientSplit

JOB_JSON = "job.json"
DATA_NPZ = "data.npz"
RESULT_JSON = "result.json"
WEIGHTS_NPZ = "global_weights.npz"


@dataclass(frozen=True)
class Job:
    """Everything a client or the server reads: model, settings and data."""

    folder: Path
    model: str
    hparams: dict[str, Any]
    input_shape: tuple[int, ...]
    num_classes: int
    seed: int
    config: RunConfig
    federated: FederatedConfig

    def data(self) -> dict[str, np.ndarray]:
        with np.load(self.folder / DATA_NPZ) as z:
            return {k: z[k] for k in z.files}

    def client_data(self, cid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x_train, y_train, x_val, y_val) of client ``cid``."""
        d = self.data()
        tr, va = d[f"train_{cid}"], d[f"val_{cid}"]
        return d["x"][tr], d["y"][tr], d["x"][va], d["y"][va]


def write_job(folder: Path, *, model: str, hparams: dict[str, Any], seed: int, config: RunConfig,
              x: np.ndarray, y: np.ndarray, splits: list[ClientSplit], x_test: np.ndarray,
              y_test: np.ndarray, num_classes: int) -> Job:
    """Write the job folder; returns the ``Job``."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"x": x, "y": y, "x_test": x_test, "y_test": y_test}
    for i, s in enumerate(splits):
        arrays[f"train_{i}"], arrays[f"val_{i}"] = s.train, s.val
    np.savez(folder / DATA_NPZ, **arrays)
    meta = {"model": model, "hparams": hparams, "input_shape": list(x.shape[1:]), "num_classes": num_classes,
            "seed": seed, "config": {k: v for k, v in config.as_dict().items() if k != "federated"},
            "federated": asdict(config.federated)}
    atomic_write_text(folder / JOB_JSON, json.dumps(meta, indent=1) + "\n")
    return read_job(folder)


def read_job(folder: str | Path) -> Job:
    """The ``Job`` in ``folder``."""
    folder = Path(folder)
    meta = json.loads((folder / JOB_JSON).read_text(encoding="utf-8"))
    cfg = dict(meta["config"])
    cfg["seeds"] = tuple(cfg.get("seeds") or (0,))
    cfg["target"] = tuple(cfg["target"]) if cfg.get("target") else None
    fed = FederatedConfig(**meta["federated"])
    return Job(folder, meta["model"], meta["hparams"], tuple(meta["input_shape"]), int(meta["num_classes"]),
               int(meta["seed"]), RunConfig(**cfg, federated=fed), fed)
