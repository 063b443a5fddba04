"""Plan and execute a benchmark run: pairs x seeds (x folds), one record each, saved
atomically after every record; a rerun into the same folder resumes."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from benchmarks.adapters.base import resolve_hparams
from benchmarks.config import RunConfig
from benchmarks.core.atomic import WriteError
from benchmarks.core.errors import DataError, OncobenchError
from benchmarks.execution.jobs import NOT_RETRIED, Job, job_plugins, options_dict
from benchmarks.records.results import (
    SCHEMA_VERSION,
    ResultsStore,
    data_changes,
    model_fingerprint,
    record_key,
)
from benchmarks.records.tables import finish
from datasets.base import LoadOptions
from datasets.registry import DatasetSpec, get_dataset, list_datasets, no_cv_error
from models.registry import ModelSpec, get_model, list_models


@dataclass(frozen=True)
class Plan:
    pairs: list[tuple[ModelSpec, DatasetSpec]]
    skipped: list[str]  # human notes: unavailable datasets, incompatible pairs


def plan_pairs(models: list[str] | None, datasets: list[str] | None, options: LoadOptions) -> Plan:
    """Every compatible (model, dataset) pair among those named (None: all / all available)."""
    skipped: list[str] = []
    model_specs = [get_model(m) for m in models] if models else list_models()
    if datasets:
        data_specs = [get_dataset(d) for d in datasets]
    else:
        data_specs = []
        for d in list_datasets():
            if d.available(options):
                data_specs.append(d)
            else:
                skipped.append(f"{d.name} (not downloaded; get it with: "
                               f"{d.how_to_get or 'python -m benchmarks download ' + d.name})")
    if options.cv_folds:
        no_cv = [d for d in data_specs if not d.supports_cv]
        if datasets and no_cv:
            raise no_cv_error(no_cv[0].name)
        skipped += [f"{d.name} (official split; --cv does not apply)" for d in no_cv]
        data_specs = [d for d in data_specs if d.supports_cv]
    pairs = [(m, d) for m in model_specs for d in data_specs if m.accepts(d.modality)]
    if models and datasets:
        for m in model_specs:
            if not any(m.accepts(d.modality) for d in data_specs):
                names = [d.name for d in data_specs]
                valid = [x.name for x in list_models() if any(x.accepts(d.modality) for d in data_specs)]
                raise OncobenchError(
                    f"model {m.name!r} ({'/'.join(m.modalities)}) is incompatible with dataset "
                    f"{', '.join(names)} ({', '.join(sorted({d.modality for d in data_specs}))}); "
                    f"valid models for it: {', '.join(valid)}"
                )
        for d in data_specs:
            if not any(m.accepts(d.modality) for m in model_specs):
                valid = [x.name for x in list_models() if x.accepts(d.modality)]
                raise OncobenchError(
                    f"dataset {d.name!r} ({d.modality}) fits none of the models named; "
                    f"valid models for it: {', '.join(valid)}"
                )
        skipped += [f"{m.name} on {d.name} (incompatible: {d.modality})"
                    for m in model_specs for d in data_specs if not m.accepts(d.modality)]
    if not pairs:
        raise OncobenchError("nothing to run: no compatible (model, dataset) pair is available; "
                             "see python -m benchmarks list")
    return Plan(pairs, skipped)


# Config fields that do not shape results: which seeds run, and the progress bar.
_NOT_EXPERIMENT = ("seeds", "verbose", "hparams")
# Config fields added later, left out of the experiment at their defaults (older runs resume).
_NEW_DEFAULTS = {"strategy": "none", "scaling": False, "fine_tune_epochs": None}
# Load options that do not shape results: per-job seed and fold, and where the cache lives.
_NOT_DATA_OPTIONS = ("seed", "fold", "data_dir", "cache_memory_gb")


def experiment_of(config: RunConfig, options: LoadOptions, models: list[ModelSpec]) -> dict[str, Any]:
    """Everything that must match for a resume to continue a run: the oncobench version, the
    config, the data options, and each model's hyper-parameters as resolved."""
    from benchmarks import __version__

    return {
        "oncobench": __version__,
        "config": {k: v for k, v in config.as_dict().items() if k not in _NOT_EXPERIMENT
                   and not (k in _NEW_DEFAULTS and v == _NEW_DEFAULTS[k])},
        "data_options": {k: (str(v) if v is not None and not isinstance(v, (int, float, str, bool)) else v)
                         for k, v in asdict(options).items() if k not in _NOT_DATA_OPTIONS},
        # as each run resolves them (full: fine_tune_epochs 30), so a saved suite.toml reproduces
        "hparams": {m.name: resolve_hparams(m, config) for m in models},
    }


RESTART_HINT = "use a new --output, or pass --restart to move the old results aside"


def new_run_dir(root: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = root / stamp
    i = 1
    while path.exists():
        path = root / f"{stamp}-{i}"
        i += 1
    return path


def execute(
    plan: Plan,
    config: RunConfig,
    options: LoadOptions,
    run_dir: Path,
    *,
    meta: dict[str, Any],
    threads: tuple[int | None, int | None] = (None, None),
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
    callbacks: list | None = None,
    explain: Any | None = None,
    isolate: bool = False,
    workers: int = 1,
    run_timeout: float | None = None,
    retry_failed: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    plugins: tuple[str, ...] = (),
) -> ResultsStore:
    """Run every (pair, seed, fold); append each record atomically; skip finished ones.

    Jobs run on the executor the settings name (``benchmarks.execution.executor_for``): by
    default warm local worker processes, so a crash is a failed record; ``isolate``: a fresh
    process per job; ``workers``: how many at once; ``executor="inprocess"`` (or ``callbacks``):
    this process; ``executor="ray"``: Ray tasks (``ray_address``). ``explain``: explain each
    finished record in its job's process. A job whose process crashed or timed out is not rerun
    on resume unless ``retry_failed``. ``plugins``: the run's ``--plugin`` references, which
    every job's process imports.
    """
    from benchmarks import measure
    from benchmarks.execution import executor_for

    folds: list[int | None] = list(range(options.cv_folds)) if options.cv_folds else [None]
    pairs = [(m, d, s, f) for m, d in plan.pairs for s in config.seeds for f in folds]
    experiment = meta.get("experiment") or experiment_of(config, options, [m for m, _ in plan.pairs])
    meta = {**meta, "experiment": experiment}
    # Bad data fails here, before TensorFlow starts and before the run folder exists.
    loaded = {(pairs[0][1].name, pairs[0][2], pairs[0][3]): pairs[0][1].load(
        replace(options, seed=pairs[0][2], fold=pairs[0][3]))}
    if callbacks:  # Keras callbacks are objects of this process: the jobs run here
        executor = "inprocess"
    here = executor == "inprocess"
    if here and config.strategy != "none":  # collective ops must be configured before any op runs
        from benchmarks.adapters.keras import strategy_for

        strategy_for(config.strategy)
    thread_info = measure.configure_threads(*threads) if here else measure.thread_counts(*threads)
    store = ResultsStore(run_dir, meta)
    try:
        env = _environment(store, thread_info, log)
        fps = {m.name: model_fingerprint(experiment, m.name) for m, _, _, _ in pairs}
        _check_resume(store, pairs, config, fps, run_dir)
        _check_data(store, pairs, options, loaded, run_dir)
        skip = set(store.fingerprints())
        if not retry_failed:  # a job that crashed or hung would again: rerun with --retry-failed
            dead = {r["key"] for r in store.records if r.get("failure") in NOT_RETRIED}
            if dead:
                log(f"not rerunning {len(dead)} crashed/timed-out run(s); pass --retry-failed to retry")
            skip |= dead
        jobs = [Job(m.name, d.name, s, f, config, options_dict(options), str(run_dir), env, fps[m.name],
                    job_plugins(plugins, m, d), explain is not None, *threads)
                for m, d, s, f in pairs]
        todo = [job for job in jobs if job.key not in skip]
        if len(todo) < len(jobs):
            log(f"resuming {run_dir}: {len(jobs) - len(todo)} of {len(jobs)} runs already done")
        run = executor_for(executor, workers=workers, isolate=isolate, run_timeout=run_timeout,
                           ray_address=ray_address, gpus=len(env.get("gpus") or []),
                           callbacks=callbacks, log=log)
        if isolate or workers > 1 or executor == "ray":
            log(f"running {len(todo)} job(s) in {'fresh processes' if isolate else 'worker processes'}, "
                f"{workers} at once" + (", on Ray" if executor == "ray" else ""))
        from benchmarks.execution.progress import progress_of

        tracker = progress_of(log)
        tracker.start(len(jobs), done=len(jobs) - len(todo))
        try:
            run.run(todo, _reporter(store, tracker, config))
        finally:
            tracker.close()
    except BaseException:  # Ctrl-C, a data or write error: still leave results.csv/summary.md
        try:
            finish(store)
        except OncobenchError:
            pass  # the first error is the one to report
        raise
    finish(store)
    return store


def _environment(store: ResultsStore, thread_info: dict[str, int], log: Callable[[str], None]) -> dict:
    """The run's environment (measured once per run folder, with the control benchmark)."""
    from benchmarks import measure

    env = store.meta.get("environment")
    if not env:
        env = measure.environment(thread_info)
        log("measuring the control benchmark (fixed matmul and reference model)...")
        env["control"] = measure.control_benchmark()
        store.meta.update({"environment": env, "schema_version": SCHEMA_VERSION})
        store.flush()
    return env


def _check_resume(store: ResultsStore, pairs: list[tuple], config: RunConfig, fps: dict[str, str],
                  run_dir: Path) -> None:
    """A finished record of one of these runs must belong to this experiment."""
    done = store.fingerprints()
    for m, d, s, f in pairs:
        key = record_key(m.name, d.name, s, f, config.variant)
        if key in done and done[key] != fps[m.name]:
            raise OncobenchError(f"{run_dir}: the finished run {key} belongs to a different experiment "
                                 f"(fingerprint {done[key]}, now {fps[m.name]}); {RESTART_HINT}")


def _reporter(store: ResultsStore, tracker: Any, config: RunConfig) -> Callable[[Job, dict[str, Any]], None]:
    """``on_record`` for the executors: the progress line of each record (``[k/N]``, elapsed and
    ETA; a live bar on a terminal: ``benchmarks.execution.progress``), then the atomic append."""
    last = [time.perf_counter()]

    def on_record(job: Job, rec: dict[str, Any]) -> None:
        if rec.get("failure") == "data":  # bad data (over the budget, unreadable): bad input, exit 2
            raise DataError(rec.get("error") or f"{job.dataset}: bad data")
        now = time.perf_counter()
        took, last[0] = now - last[0], now
        label = (f"{job.model} on {job.dataset} seed {job.seed}"
                 + (f" fold {job.fold}" if job.fold is not None else "")
                 + (f" · {config.federated.label()}" if config.federated else ""))
        if rec.get("status") == "ok":
            roc = rec.get("roc_auc")
            status = (f"accuracy {rec['accuracy']:.3f}  f1 {rec['f1_macro']:.3f}  "
                      f"roc-auc {'n/a' if roc is None else f'{roc:.3f}'}")
        else:
            status = f"FAILED {rec.get('error')}"
        tracker.finished(label, took, status)
        if rec.get("failure") == "write":  # the job could not write (a full disk): later ones cannot either
            raise WriteError(rec.get("error") or "cannot write")
        store.append(rec)  # a write error (full disk, read-only) stops the suite in one line

    return on_record


def _same_data(store: ResultsStore, name: str, dataset: Any, run_dir: Path) -> None:
    changed = data_changes(store.records, name, dataset.provenance.files)
    if changed:
        raise DataError(f"{name}: the data changed since the finished runs in {run_dir} "
                        f"({'; '.join(changed)}); {RESTART_HINT}")


def _check_data(store: ResultsStore, pairs: list[tuple], options: LoadOptions, loaded: dict,
                run_dir: Path) -> None:
    """Before a run resumes: each dataset with finished records is unchanged (whether or not any
    of its jobs is left to run)."""
    seen: set[str] = set()
    for _, dspec, seed, fold in pairs:
        if dspec.name not in seen and any(r.get("dataset") == dspec.name for r in store.records):
            seen.add(dspec.name)
            data = loaded.get((dspec.name, seed, fold)) or dspec.load(replace(options, seed=seed, fold=fold))
            _same_data(store, dspec.name, data, run_dir)
