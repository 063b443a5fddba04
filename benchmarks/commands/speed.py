"""``speed``: time Keras builders on Keras's active backend (``KERAS_BACKEND=jax|torch|tensorflow``).

For machines with JAX or PyTorch but no TensorFlow (a GPU box, say); ``run`` stays the benchmark
of record. Nothing heavy is imported until the command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.commands.args import add_data_dir, add_plugins, names

COLUMNS = (("model", "model"), ("dataset", "dataset"), ("params", "params"), ("jit_compiled", "XLA"),
           ("first_epoch_s", "1st epoch s"), ("train_samples_per_s", "train samples/s"),
           ("inference_samples_per_s", "infer samples/s"), ("latency_ms_p50", "latency p50 ms"),
           ("accuracy", "test acc"), ("roc_auc", "test AUC"))


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a GitHub table (numbers rounded for reading; the JSON keeps them whole)."""
    from tabulate import tabulate

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if v < 10 else f"{v:,.0f}"
        return "-" if v is None else str(v)

    return tabulate([[cell(r.get(k)) for k, _ in COLUMNS] for r in rows], headers=[h for _, h in COLUMNS],
                    tablefmt="github", disable_numparse=True)


def run(args: argparse.Namespace) -> int:
    """Time every compatible (model, dataset) pair; print a table, write JSON with the machine."""
    from benchmarks.commands.run import parse_hparams
    from benchmarks.config import get_profile, validate
    from benchmarks.core.atomic import atomic_write_text, check_writable_dir
    from benchmarks.core.errors import OncobenchError
    from benchmarks.core.plugins import load_plugins
    from benchmarks.execution.runner import plan_pairs
    from benchmarks.speed.backend import backend_info, speed_pair
    from datasets.base import LoadOptions

    load_plugins(args.plugin or ())
    out = Path(args.output) if args.output else None
    if out is not None:
        if out.is_dir():
            raise OncobenchError(f"--output {out}: is a folder; give a file path, e.g. {out / 'speed.json'}")
        check_writable_dir(out.parent)
    base = get_profile(args.profile)
    changes = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                 ("precision", args.precision)) if v is not None}
    config = validate(base.with_(**changes, hparams=parse_hparams(args.hp or [])))
    options = LoadOptions(seed=args.seed, **({"data_dir": Path(args.data_dir)} if args.data_dir else {}))
    plan = plan_pairs(names(args.model), names(args.dataset), options)
    info = backend_info()
    print(f"speed: Keras {info['keras']} on {info['backend']}, {info['device_kind']} "
          f"{info['device_name']}; {config.epochs} epochs, batch {config.batch_size}, {config.precision}")
    rows, loaded = [], {}
    for mspec, dspec in plan.pairs:
        if mspec.framework != "keras":
            print(f"  skipped {mspec.name} on {dspec.name}: a {mspec.framework} model")
            continue
        if dspec.name not in loaded:
            loaded[dspec.name] = dspec.load(options)
        row = speed_pair(mspec, loaded[dspec.name], config, jit=args.jit_compile, seed=args.seed)
        rows.append(row)
        if not row["jit_compiled"] and info["backend"] == "jax":
            print(f"  note: {mspec.name} trained op by op (a layer is not jittable): slow on jax")
        print(f"  {mspec.name} on {dspec.name}: {row['train_samples_per_s']:,.0f} train samples/s")
    print(table(rows))
    if out is not None:
        atomic_write_text(out, json.dumps({"machine": info, "profile": config.profile, "rows": rows},
                                          indent=2, default=str) + "\n")
        print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``speed`` parser."""
    p = sub.add_parser(
        "speed", help="time Keras models on Keras's active backend (KERAS_BACKEND: jax, torch, tensorflow)",
        description="Train each Keras model on each dataset's real training split for a fixed number of "
                    "epochs on Keras's active backend (set KERAS_BACKEND=jax or torch to time a GPU "
                    "without TensorFlow), with its recipe, and report steady training samples/s "
                    "(epochs 2..n), inference samples/s, one-sample latency and the test accuracy/AUC "
                    "reached. Models that need TensorFlow (TF-Hub) run only on the tensorflow backend.")
    p.add_argument("--model", required=True, help="comma-separated Keras models, e.g. cnn,dnn")
    p.add_argument("--dataset", required=True, help="comma-separated datasets, e.g. breastmnist_64,golub")
    p.add_argument("--profile", default="speed", help="batch size, epochs and timing settings "
                                                      "(default: speed: 5 epochs, batch 32)")
    p.add_argument("--epochs", type=int, help="training epochs (at least 2 for a steady figure)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--precision", choices=("float32", "mixed_float16", "mixed_bfloat16"))
    p.add_argument("--jit-compile", default="auto", choices=("auto", "on", "off"),
                   help="XLA: auto (Keras's choice: on for jax), on, off")
    p.add_argument("--hp", action="append", metavar="MODEL.KEY=VALUE", help="hyper-parameter override")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", metavar="FILE.json", help="write the rows and machine facts as JSON")
    add_data_dir(p)
    add_plugins(p)
    p.set_defaults(func=run)
