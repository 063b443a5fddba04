"""Plan and execute a benchmark run: pairs x seeds (x folds), one record each, saved
atomically after every record; a rerun into the same folder resumes."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from benchmarks.config import RunConfig
from benchmarks.errors import DataError, OncobenchError
from benchmarks.harness import record_header, run_one
from benchmarks.results import SCHEMA_VERSION, ResultsStore, record_key, write_csv
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


def new_run_dir(root: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = root / stamp
    i = 1
    while path.exists():
        path = root / f"{stamp}-{i}"
        i += 1
    return path


def _error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


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
) -> ResultsStore:
    """Run every (pair, seed, fold); append each record atomically; skip finished ones."""
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

    # Bad data fails here, before TensorFlow starts and before the run folder exists.
    dataset_for(jobs[0][1], jobs[0][2], jobs[0][3])
    thread_info = measure.configure_threads(*threads)
    store = ResultsStore(run_dir, meta)
    env = store.meta.get("environment")
    if not env:
        env = measure.environment(thread_info)
        log("measuring the control benchmark (fixed matmul and reference model)...")
        env["control"] = measure.control_benchmark()
        store.meta.update({"environment": env, "schema_version": SCHEMA_VERSION})
        store.flush()
    done = store.done_keys()
    todo = [j for j in jobs if record_key(j[0].name, j[1].name, j[2], j[3]) not in done]
    if len(todo) < len(jobs):
        log(f"resuming {run_dir}: {len(jobs) - len(todo)} of {len(jobs)} runs already done")
    for i, (mspec, dspec, seed, fold) in enumerate(todo, 1):
        label = f"[{i}/{len(todo)}] {mspec.name} on {dspec.name} seed {seed}" + (
            f" fold {fold}" if fold is not None else "")
        log(f"{label} ...")
        t0 = time.perf_counter()
        try:
            dataset = dataset_for(dspec, seed, fold)
            rec = run_one(mspec, dataset, seed, config, run_dir=run_dir, environment=env,
                          run_id=run_dir.name, callbacks=callbacks)
            store.append(rec)
            roc = rec.get("roc_auc")
            log(f"{label}: accuracy {rec['accuracy']:.3f}  f1 {rec['f1_macro']:.3f}  "
                f"roc-auc {'n/a' if roc is None else f'{roc:.3f}'}  ({time.perf_counter() - t0:.1f} s)")
        except KeyboardInterrupt:
            raise
        except DataError:
            raise  # bad data: stop with its one-line error (finished records are saved)
        except OncobenchError as exc:
            store.append(_failed(mspec, dspec, seed, fold, config, exc, env, run_dir))
            log(f"{label}: FAILED {_error_line(exc)}")
        except Exception as exc:  # noqa: BLE001 - one failed run must not lose the others
            store.append(_failed(mspec, dspec, seed, fold, config, exc, env, run_dir))
            log(f"{label}: FAILED {_error_line(exc)}")
    write_csv(store.records, run_dir / "results.csv")
    return store


def _failed(mspec: ModelSpec, dspec: DatasetSpec, seed: int, fold: int | None, config: RunConfig,
            exc: BaseException, env: dict[str, Any] | None, run_dir: Path) -> dict[str, Any]:
    """The record of a run that raised ``exc``: the common header only."""
    return record_header(mspec, dspec.name, dspec.modality, seed, fold, config, run_id=run_dir.name,
                         environment=env, status="failed", error=_error_line(exc))
