"""The Python API, for notebooks and scripts; the ``run`` command is built on it.

``run(models=..., datasets=..., seeds=..., profile=..., **options)`` trains and returns a
``pandas.DataFrame`` with one row per record (the columns of ``results.csv``); ``load``,
``compare`` and ``report`` read finished runs. Progress goes to the ``oncobench`` logger (or a
``progress`` callback); problems raise ``OncobenchError`` (the CLI turns them into exit code 2).
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from benchmarks.config import RunConfig, validate
from benchmarks.config.suite import (
    DATA_KEYS,
    SUITE_FILE,
    TRAINING_KEYS,
    Suite,
    read_toml,
    suite_from_mapping,
    suite_to_toml,
)
from benchmarks.core.atomic import atomic_write_text, check_writable_dir
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import load_plugins
from benchmarks.records.results import fingerprint, flat_rows
from datasets.base import LoadOptions

if TYPE_CHECKING:
    import pandas as pd

    from benchmarks.records.results import ResultsStore

__all__ = ["compare", "load", "records_frame", "report", "run", "run_suite", "suite"]

RESULTS_ROOT = Path("results")
LOGGER = logging.getLogger("oncobench")
Progress = Callable[[str], None]


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        cols += [c for c in row if c not in cols]
    return cols


def records_frame(records: Iterable[dict[str, Any]]) -> "pd.DataFrame":
    """One row per record, with the columns (and column order) of ``results.csv``."""
    import pandas as pd

    rows = flat_rows(records)
    return pd.DataFrame(rows, columns=_columns(rows))


def suite(models: str | Iterable[str] | None = None, datasets: str | Iterable[str] | None = None,
          seeds: int | Iterable[int] | None = None, profile: str | None = None, *,
          config: str | Path | None = None, plugins: Iterable[str] = (),
          hparams: Mapping[str, Mapping[str, Any]] | None = None, output: str | Path | None = None,
          tensorboard: str | Path | None = None, explain: bool | None = None, **options: Any) -> Suite:
    """A validated ``Suite``: ``config`` (a suite file) overlaid with the arguments given.

    ``options``: ``RunConfig`` fields (epochs, batch_size, learning_rate, ...) and ``LoadOptions``
    fields (cv_folds, top_k_genes, ...); any other name is an error listing the valid ones.
    ``seeds=3`` means seeds 0, 1, 2.
    """
    doc: dict[str, Any] = read_toml(Path(config)) if config is not None else {}
    base_dir = Path(config).resolve().parent if config is not None else None
    bad = [k for k in options if k not in TRAINING_KEYS and k not in DATA_KEYS]
    if bad:
        raise OncobenchError(f"unknown option {bad[0]!r}; valid: {', '.join(TRAINING_KEYS + DATA_KEYS)}")
    for key, keys in (("training", TRAINING_KEYS), ("data", DATA_KEYS)):
        given = {k: v for k, v in options.items() if k in keys and v is not None}
        if given:
            doc[key] = {**(doc.get(key) or {}), **given}
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seeds = range(seeds)
    given = {"models": [models] if isinstance(models, str) else models,
             "datasets": [datasets] if isinstance(datasets, str) else datasets,
             "seeds": list(seeds) if seeds is not None else None, "profile": profile,
             "output": str(output) if output is not None else None,
             "tensorboard": str(tensorboard) if tensorboard is not None else None,
             "explain": explain}
    doc.update({k: list(v) if k in ("models", "datasets") else v for k, v in given.items() if v is not None})
    if plugins:
        doc["plugins"] = [*(doc.get("plugins") or []), *plugins]
    if hparams:
        merged = {m: dict(v) for m, v in (doc.get("hparams") or {}).items()}
        for m, v in hparams.items():
            merged[m] = {**merged.get(m, {}), **v}
        doc["hparams"] = merged
    return suite_from_mapping(doc, source=str(config) if config else "suite", base_dir=base_dir)


def check_hparams(config: RunConfig) -> None:
    """Fail early on an unknown model or hyper-parameter (after plugins are loaded)."""
    from models.registry import get_model

    for name, overrides in config.hparams.items():
        get_model(name).hparams(overrides)


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up chatter out of the output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import absl.logging
    import tensorflow as tf

    absl.logging.set_verbosity(absl.logging.ERROR)
    tf.get_logger().setLevel("ERROR")
    import warnings

    warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed.*")


def same_experiment(run_dir: Path, experiment: dict[str, Any], *, restart: bool,
                    log: Progress) -> dict[str, Any]:
    """Refuse to resume into ``run_dir`` unless it holds the same experiment (``restart``: move
    it aside first); returns the experiment to store, with earlier models' hyper-parameters."""
    from benchmarks.execution.runner import RESTART_HINT
    from benchmarks.records.results import RESULTS_JSON, experiment_changes, load_results, move_aside

    if not (run_dir / RESULTS_JSON).exists():
        return experiment
    if restart:
        log(f"--restart: moved the earlier results to {move_aside(run_dir)}")
        return experiment
    doc = load_results(run_dir)
    if not doc["records"]:
        return experiment
    changes = experiment_changes(doc.get("meta") or {}, experiment)
    if changes:
        shown = "; ".join(changes[:4]) + (f"; and {len(changes) - 4} more" if len(changes) > 4 else "")
        raise OncobenchError(f"{run_dir} holds a different experiment ({shown}); {RESTART_HINT}")
    old_hp = (doc["meta"].get("experiment") or {}).get("hparams") or {}
    return {**experiment, "hparams": {**old_hp, **experiment["hparams"]}}


def run_suite(s: Suite, *, run_dir: Path | None = None, restart: bool = False, command: str = "",
              progress: Progress | None = None) -> "ResultsStore":
    """Run every job of ``s`` into ``run_dir`` (default: ``s.output`` or results/<run-id>), save
    the resolved suite beside the results (``suite.toml``) and return the results store."""
    from benchmarks.execution.runner import execute, experiment_of, new_run_dir, plan_pairs

    log = progress or LOGGER.info
    load_plugins(s.plugins)
    check_hparams(s.config)
    plan = plan_pairs(list(s.models) or None, list(s.datasets) or None, s.data)
    for note in plan.skipped:
        log(f"skipped: {note}")
    run_dir = Path(run_dir or s.output or new_run_dir(RESULTS_ROOT))
    check_writable_dir(run_dir)
    models = list({m.name: m for m, _ in plan.pairs}.values())
    config = s.config
    configs = [validate(config.with_(federated=way)) for way in s.ways]
    if any(s.ways):
        from benchmarks.federated.preflight import preflight

        for way in filter(None, s.ways):
            preflight(plan.pairs, config.seeds, way, s.data)
    experiment = experiment_of(s.config, s.data, models)
    if any(s.ways):  # every way to train of this run is part of the experiment
        experiment["config"]["federated"] = [c.as_dict()["federated"] for c in configs]
    experiment = same_experiment(run_dir, experiment, restart=restart, log=log)
    folds = s.data.cv_folds or 1
    n = len(plan.pairs) * len(config.seeds) * folds * len(configs)
    log(f"oncobench: {n} runs ({len(plan.pairs)} pairs x {len(config.seeds)} seeds"
        + (f" x {folds} folds" if folds > 1 else "")
        + (f" x {len(configs)} ways to train" if len(configs) > 1 else "")
        + f"), profile {config.profile} -> {run_dir}")
    if s.tensorboard:
        from benchmarks.tracking.tensorboard_logs import require_tensorboard

        require_tensorboard()
    quiet_tensorflow()
    meta = {
        "command": command or "benchmarks.api.run_suite",
        "profile": config.profile,
        "seeds": list(config.seeds),
        "config": config.as_dict(),
        "experiment": experiment,
        "fingerprint": fingerprint({k: v for k, v in experiment.items() if k != "hparams"}),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    resolved = Suite(models=tuple(m.name for m in models),
                     datasets=tuple(dict.fromkeys(d.name for _, d in plan.pairs)),
                     config=config, data=s.data, plugins=s.plugins, output=str(run_dir),
                     tensorboard=s.tensorboard, threads=s.threads, inter_op_threads=s.inter_op_threads,
                     explain=s.explain, ways=s.ways, execution=s.execution)
    explain = None
    if s.explain:
        from benchmarks.explain.record import ExplainSettings

        explain = ExplainSettings()
    try:
        for way_config in configs:
            store = execute(plan, way_config, s.data, run_dir, meta=meta,
                            threads=(s.threads, s.inter_op_threads), log=log, explain=explain,
                            **s.execution)
        if any(s.ways):
            from benchmarks.records.federated import add_central_gaps
            from benchmarks.records.tables import finish

            add_central_gaps(store)
            finish(store)
    except BaseException:  # still save the suite of the finished records; the first error is reported
        if run_dir.is_dir():
            with contextlib.suppress(OncobenchError, OSError):
                save_suite(resolved, run_dir, experiment["hparams"], command=meta["command"])
        raise
    save_suite(resolved, run_dir, experiment["hparams"], command=meta["command"])
    if s.tensorboard:
        from benchmarks.tracking.tensorboard_logs import write_tensorboard

        log(f"tensorboard: {write_tensorboard(store.records, Path(s.tensorboard))}")
    return store


def save_suite(s: Suite, run_dir: Path, hparams: Mapping[str, Mapping[str, Any]], *, command: str) -> Path:
    """Write the resolved suite (``suite.toml``) into ``run_dir``."""
    header = (f"oncobench suite: the resolved configuration of {run_dir}\n"
              f"from: {command}\n"
              f"reproduce: python -m benchmarks run --config {run_dir / SUITE_FILE} --output NEW_FOLDER")
    path = run_dir / SUITE_FILE
    atomic_write_text(path, suite_to_toml(s, hparams=hparams, header=header))
    return path


def run(models: str | Iterable[str] | None = None, datasets: str | Iterable[str] | None = None,
        seeds: int | Iterable[int] | None = None, profile: str | None = None, *,
        progress: Progress | None = None, **options: Any) -> "pd.DataFrame":
    """Benchmark ``models`` on ``datasets`` (None: all compatible / all available); one row per record.

    ``options``: see ``suite`` (``config=``, ``plugins=``, ``hparams=``, ``output=``,
    ``tensorboard=``, ``RunConfig`` and ``LoadOptions`` fields).
    """
    store = run_suite(suite(models, datasets, seeds, profile, **options), progress=progress)
    return records_frame(store.records)


def load(results_dir: str | Path) -> "pd.DataFrame":
    """The records of a run folder (or results.json / a baseline file) as a DataFrame."""
    from benchmarks.records.baseline import load_side

    return records_frame(load_side(results_dir).records)


def compare(baseline: str | Path, current: str | Path, *, thresholds: str | Path | None = None,
            metrics: Iterable[str] | None = None) -> "pd.DataFrame":
    """Per (model, dataset, metric): baseline, current, delta and verdict (better/same/worse/...)."""
    from dataclasses import asdict

    import pandas as pd

    from benchmarks.compare import Row, Thresholds, compare_records
    from benchmarks.records.baseline import load_side

    base, cur = load_side(baseline), load_side(current)
    cmp = compare_records(base.records, cur.records, Thresholds.load(thresholds),
                          list(metrics) if metrics else None, baseline_label=base.label,
                          current_label=cur.label, baseline_machine=base.machine,
                          current_machine=cur.machine)
    return pd.DataFrame([asdict(r) for r in cmp.rows], columns=[f.name for f in fields(Row)])


def report(results_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write report.md and report.html for a run folder; returns the path of report.html."""
    from benchmarks.report import write_report

    if output is not None:
        check_writable_dir(Path(output))
    return write_report(Path(results_dir), output)


# re-exported for type checkers: the two data objects a suite is made of
__all__ += ["LoadOptions", "RunConfig", "Suite"]
