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
from benchmarks.core.errors import DataError, OncobenchError
from benchmarks.execution.harness import run_one
from benchmarks.execution.jobs import NOT_RETRIED, Job, error_line, options_dict, plugins_of, run_job
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


_error_line = error_line  # kept for callers of the old name


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
) -> ResultsStore:
    """Run every (pair, seed, fold); append each record atomically; skip finished ones.

    ``explain`` (``benchmarks.explain.record.ExplainSettings``): explain each finished record.
    ``isolate`` / ``workers`` > 1 / ``run_timeout``: each job in a fresh process, ``workers``
    at once; ``executor="ray"``: each job a Ray task (``ray_address``). A job whose process
    crashed or timed out is not rerun on resume unless ``retry_failed``.
    """
    from benchmarks import measure

    folds: list[int | None] = list(range(options.cv_folds)) if options.cv_folds else [None]
    jobs = [(m, d, s, f) for m, d in plan.pairs for s in config.seeds for f in folds]
    cache: dict[tuple, Any] = {}

    def dataset_for(dspec: DatasetSpec, seed: int, fold: int | None):
        ck = (dspec.name, seed, fold)
        if ck not in cache:
            cache.clear()  # keep one dataset in memory at a time
            cache[ck] = dspec.load(replace(options, seed=seed, fold=fold))
        return cache[ck]

    experiment = meta.get("experiment") or experiment_of(config, options, [m for m, _ in plan.pairs])
    meta = {**meta, "experiment": experiment}
    # Bad data fails here, before TensorFlow starts and before the run folder exists.
    dataset_for(jobs[0][1], jobs[0][2], jobs[0][3])
    if config.strategy != "none":  # collective ops must be configured before any other op runs
        from benchmarks.adapters.keras import strategy_for

        strategy_for(config.strategy)
    thread_info = measure.configure_threads(*threads)
    store = ResultsStore(run_dir, meta)
    how = Isolation(isolate or workers > 1 or run_timeout is not None or executor != "local",
                    max(1, workers), run_timeout, retry_failed, executor, ray_address,
                    options, threads)
    try:
        _execute(store, jobs, config, experiment, dataset_for, thread_info, log, callbacks, explain, how)
    except BaseException:  # Ctrl-C, a data or write error: still leave results.csv/summary.md
        try:
            finish(store)
        except OncobenchError:
            pass  # the first error is the one to report
        raise
    finish(store)
    return store


@dataclass(frozen=True)
class Isolation:
    """How jobs run: in this process, or each in a fresh process / Ray task."""

    isolated: bool = False
    workers: int = 1
    run_timeout: float | None = None
    retry_failed: bool = False
    executor: str = "local"
    ray_address: str | None = None
    options: LoadOptions | None = None
    threads: tuple[int | None, int | None] = (None, None)


def _execute(store: ResultsStore, jobs: list[tuple], config: RunConfig, experiment: dict[str, Any],
             dataset_for: Callable, thread_info: dict[str, int], log: Callable[[str], None],
             callbacks: list | None, explain: Any | None = None, how: Isolation = Isolation()) -> None:
    """The job loop of ``execute``: skip finished records, run the others, append each."""
    from benchmarks import measure

    run_dir = store.run_dir
    env = store.meta.get("environment")
    if not env:
        env = measure.environment(thread_info)
        log("measuring the control benchmark (fixed matmul and reference model)...")
        env["control"] = measure.control_benchmark()
        store.meta.update({"environment": env, "schema_version": SCHEMA_VERSION})
        store.flush()
    fps = {m.name: model_fingerprint(experiment, m.name) for m, _, _, _ in jobs}
    done = store.fingerprints()
    for m, d, s, f in jobs:
        key = record_key(m.name, d.name, s, f, config.variant)
        if key in done and done[key] != fps[m.name]:
            raise OncobenchError(f"{run_dir}: the finished run {key} belongs to a different experiment "
                                 f"(fingerprint {done[key]}, now {fps[m.name]}); {RESTART_HINT}")
    skip = set(done)
    if not how.retry_failed:  # a job that crashed or hung would again: rerun with --retry-failed
        dead = {r["key"] for r in store.records if r.get("failure") in NOT_RETRIED}
        if dead:
            log(f"not rerunning {len(dead)} crashed/timed-out run(s); pass --retry-failed to retry")
        skip |= dead
    todo = [j for j in jobs if record_key(j[0].name, j[1].name, j[2], j[3], config.variant) not in skip]
    if len(todo) < len(jobs):
        log(f"resuming {run_dir}: {len(jobs) - len(todo)} of {len(jobs)} runs already done")
    job_of = {}
    for mspec, dspec, seed, fold in todo:
        job = Job(mspec.name, dspec.name, seed, fold, config.as_dict(),
                  options_dict(how.options or LoadOptions()), str(run_dir), env, fps[mspec.name],
                  plugins_of(mspec, dspec), how.isolated and explain is not None, *how.threads)
        job_of[job.key] = (job, mspec, dspec)
    t0s: dict[str, float] = {}

    def label(job: Job, i: int) -> str:
        return (f"[{i}/{len(todo)}] {job.model} on {job.dataset} seed {job.seed}"
                + (f" fold {job.fold}" if job.fold is not None else "")
                + (f" · {config.federated.label()}" if config.federated else ""))

    def report(job: Job, rec: dict[str, Any], i: int) -> None:
        took = time.perf_counter() - t0s.get(job.key, time.perf_counter())
        if rec.get("status") == "ok":
            roc = rec.get("roc_auc")
            log(f"{label(job, i)}: accuracy {rec['accuracy']:.3f}  f1 {rec['f1_macro']:.3f}  "
                f"roc-auc {'n/a' if roc is None else f'{roc:.3f}'}  ({took:.1f} s)")
        else:
            log(f"{label(job, i)}: FAILED {rec.get('error')}")
        store.append(rec)  # a write error (full disk, read-only) stops the suite in one line

    if how.isolated:
        _check_data(store, todo, dataset_for, run_dir)
        counter = iter(range(1, len(todo) + 1))

        def on_record(job: Job, rec: dict[str, Any]) -> None:
            report(job, rec, next(counter))

        plain = [job_of[record_key(m.name, d.name, s, f, config.variant)][0] for m, d, s, f in todo]
        now = time.perf_counter()
        t0s.update({j.key: now for j in plain})
        log(f"running {len(plain)} job(s) in fresh processes, {how.workers} at once"
            + (", on Ray" if how.executor == "ray" else ""))
        if how.executor == "ray":
            from benchmarks.execution.ray import run_ray

            run_ray(plain, on_record, address=how.ray_address, timeout_s=how.run_timeout, log=log)
        else:
            from benchmarks.execution.processes import run_processes

            run_processes(plain, on_record, workers=how.workers, timeout_s=how.run_timeout,
                          gpus=len(env.get("gpus") or []), log=log)
        return
    checked: set[str] = set()
    for i, (mspec, dspec, seed, fold) in enumerate(todo, 1):
        job = job_of[record_key(mspec.name, dspec.name, seed, fold, config.variant)][0]
        log(f"{label(job, i)} ...")
        t0s[job.key] = time.perf_counter()
        dataset = dataset_for(dspec, seed, fold)
        if dspec.name not in checked:  # first job of this dataset: same data as the finished runs?
            checked.add(dspec.name)
            _same_data(store, dspec.name, dataset, run_dir)
        rec = run_job(job, dataset=dataset, callbacks=callbacks, run=run_one)  # DataError stops the suite
        if explain is not None and rec.get("status") == "ok":
            from benchmarks.explain.folder import explain_fields

            rec.update(explain_fields(rec, dataset, run_dir, explain, log))
        report(job, rec, i)


def _same_data(store: ResultsStore, name: str, dataset: Any, run_dir: Path) -> None:
    changed = data_changes(store.records, name, dataset.provenance.files)
    if changed:
        raise DataError(f"{name}: the data changed since the finished runs in {run_dir} "
                        f"({'; '.join(changed)}); {RESTART_HINT}")


def _check_data(store: ResultsStore, todo: list[tuple], dataset_for: Callable, run_dir: Path) -> None:
    """Before isolated jobs resume a run: each dataset with finished records is unchanged."""
    seen: set[str] = set()
    for _, dspec, seed, fold in todo:
        if dspec.name not in seen and any(r.get("dataset") == dspec.name for r in store.records):
            seen.add(dspec.name)
            _same_data(store, dspec.name, dataset_for(dspec, seed, fold), run_dir)


def _failed(mspec: ModelSpec, dspec: DatasetSpec, seed: int, fold: int | None, config: RunConfig,
            exc: BaseException, env: dict[str, Any] | None, run_dir: Path) -> dict[str, Any]:
    """The record of a run that raised ``exc``: the common header only."""
    from benchmarks.execution.jobs import failed_record

    job = Job(mspec.name, dspec.name, seed, fold, config.as_dict(), {}, str(run_dir), env)
    return failed_record(job, error_line(exc))
