"""One run = one job: a serialisable (model, dataset, seed, fold, configuration, data options,
plugins) that any executor (in process, a fresh local process, a Ray task) turns into one record."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.config import RunConfig
from benchmarks.core.atomic import WriteError
from benchmarks.core.errors import DataError, OncobenchError

# Failure kinds a rerun does not retry unless --retry-failed: the job's process died or hung.
NOT_RETRIED = ("crash", "timeout")


@dataclass(frozen=True)
class Job:
    """Everything one run needs. It carries its ``RunConfig`` as built and validated once;
    ``to_json``/``from_json`` serialise it once for a child process."""

    model: str
    dataset: str
    seed: int
    fold: int | None
    config: RunConfig
    options: dict[str, Any]  # LoadOptions fields (data_dir as str)
    run_dir: str
    environment: dict[str, Any] | None = None
    fingerprint: str | None = None
    plugins: tuple[str, ...] = ()  # modules to import first (they register models/datasets)
    explain: bool = False  # run --explain: explain the finished record in the job's process
    threads: int | None = None  # TensorFlow intra-op threads (None: the job's cores)
    inter_op_threads: int | None = None
    cpus: tuple[int, ...] | None = None  # CPU affinity of the job's process
    gpus: str | None = None  # CUDA_VISIBLE_DEVICES of the job's process
    beside: int = 1  # how many jobs ran at once, this one included
    extra: dict[str, Any] = field(default_factory=dict)  # executor notes kept in the record

    @property
    def key(self) -> str:
        from benchmarks.records.results import record_key

        return record_key(self.model, self.dataset, self.seed, self.fold, self.config.variant)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "config": self.config.as_dict()})

    @classmethod
    def from_json(cls, text: str) -> "Job":
        d = json.loads(text)
        d["config"] = RunConfig.from_dict(d["config"])
        d["plugins"] = tuple(d.get("plugins") or ())
        if d.get("cpus") is not None:
            d["cpus"] = tuple(d["cpus"])
        return cls(**d)

    def load_options(self):
        from datasets.base import LoadOptions

        d = dict(self.options)
        d["data_dir"] = Path(d["data_dir"]) if d.get("data_dir") else None
        return replace(LoadOptions(**d), seed=self.seed, fold=self.fold)

    def process_settings(self) -> tuple:
        """What a process keeps once set (TensorFlow's thread pools, op determinism, the
        precision policy, collective ops, affinity): jobs that differ here need another process."""
        c = self.config
        return (c.deterministic, c.precision, c.strategy, self.threads, self.inter_op_threads,
                self.cpus, self.gpus)


def options_dict(options: Any) -> dict[str, Any]:
    """``LoadOptions`` -> JSON-able fields."""
    d = asdict(options)
    d["data_dir"] = str(d["data_dir"]) if d.get("data_dir") else None
    return d


def plugins_of(mspec: Any, dspec: Any) -> tuple[str, ...]:
    """Modules outside the built-in ``models``/``datasets`` packages that define the model's
    builder or the dataset's callables: a fresh process imports them to find the specs."""
    mods = []
    for obj, builtin in ((mspec, "models"), (dspec, "datasets")):
        if not dataclasses.is_dataclass(obj):
            continue
        values = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
        for v in values:
            mod = getattr(v, "__module__", None) if callable(v) else None
            if mod and mod != "__main__" and mod.split(".")[0] not in (builtin, "builtins", "functools"):
                mods.append(mod)
    return tuple(dict.fromkeys(mods))


def error_line(exc: BaseException) -> str:
    """One line for a failed record: an ``OncobenchError``'s message as is, else type: message."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return (first if isinstance(exc, OncobenchError) else f"{type(exc).__name__}: {first}")[:500]


def failed_record(job: Job, error: str, *, failure: str = "error", **fields: Any) -> dict[str, Any]:
    """The record of a job that did not finish: the common header, the reason, how it failed."""
    from benchmarks.execution.harness import record_header
    from datasets.registry import get_dataset
    from models.registry import get_model

    import_plugins(job.plugins)
    mspec = get_model(job.model)
    try:
        modality = get_dataset(job.dataset).modality
    except OncobenchError:
        modality = None
    rec = record_header(mspec, job.dataset, modality, job.seed, job.fold, job.config,
                        run_id=Path(job.run_dir).name, environment=job.environment,
                        status="failed", error=error[:2000])
    return {**rec, "failure": failure, "jobs_beside": job.beside, **fields}


def crash_reason(returncode: int, stderr_tail: str) -> str:
    """'killed by SIGABRT' / 'exit code 3', then the last lines of the job's stderr."""
    if returncode < 0:
        try:
            how = f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"killed by signal {-returncode}"
    else:
        how = f"exit code {returncode}"
    tail = " | ".join(line.strip() for line in stderr_tail.strip().splitlines()[-5:] if line.strip())
    return f"job process {how}" + (f"; stderr: {tail}" if tail else "")


def import_plugins(plugins: tuple[str, ...]) -> None:
    """Import a job's plugins (``--plugin`` files or modules, once per process)."""
    from benchmarks.core.plugins import load_plugins

    load_plugins(plugins)


def job_plugins(refs: tuple[str, ...], mspec: Any, dspec: Any) -> tuple[str, ...]:
    """What a job's process must import to find its model and dataset: the run's ``--plugin``
    references (files as absolute paths), then other modules outside the built-in packages that
    define them (an installed plugin, a test's module); a file plugin's own module is made by
    importing its file."""
    from benchmarks.core.plugins import is_file_reference

    given = [str(Path(r).resolve()) if is_file_reference(r) else r for r in refs]
    found = [m for m in plugins_of(mspec, dspec) if not m.startswith("oncobench_plugin_")]
    return tuple(dict.fromkeys([*given, *found]))


_PREPARED: list[tuple] = []  # the process settings this process was prepared with


def prepare_process(job: Job) -> None:
    """Set up this process for ``job`` before TensorFlow runs an op: CPU affinity, the job's
    plugins, collective ops for a strategy, thread pools. Once per process: a later job with other
    ``process_settings`` must run in another process (the executors see to it)."""
    import_plugins(job.plugins)
    settings = job.process_settings()
    if _PREPARED:  # set once: worker processes only get jobs of their settings; in process, the
        return  # first job's thread pools and strategy stay (as they always did there)
    if job.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(job.cpus))
    from models.registry import get_model

    if get_model(job.model).framework != "keras":
        return  # scikit-learn: BLAS threads come from the environment; TensorFlow not needed yet
    _PREPARED.append(settings)
    if job.config.strategy != "none":  # before any op: collective ops are configured at startup
        from benchmarks.adapters.keras import strategy_for

        strategy_for(job.config.strategy)
    threads = job.threads or (len(job.cpus) if job.cpus else None)
    if threads or job.inter_op_threads:
        from benchmarks.measure import configure_threads

        configure_threads(threads, job.inter_op_threads or (threads if job.cpus else None))


_DATASET: dict[tuple, Any] = {}  # one dataset kept in memory: consecutive jobs often share it


def load_dataset(job: Job) -> Any:
    """The job's dataset split (the last one loaded in this process when it is the same)."""
    from datasets.registry import get_dataset

    key = (job.dataset, job.seed, job.fold, json.dumps(job.options, sort_keys=True, default=str))
    if key not in _DATASET:
        _DATASET.clear()
        _DATASET[key] = get_dataset(job.dataset).load(job.load_options())
    return _DATASET[key]


def run_job(job: Job, *, callbacks: list | None = None) -> dict[str, Any]:
    """Run one job in this process and return its record: train and evaluate
    (``harness.run_one``), then explain it when asked. An exception becomes a failed record
    (``failure``: "data" for bad data, else "error"); Ctrl-C propagates."""
    from benchmarks.execution import harness
    from models.registry import get_model

    try:
        prepare_process(job)
        mspec = get_model(job.model)
        dataset = load_dataset(job)
        rec = harness.run_one(mspec, dataset, job.seed, job.config, run_dir=Path(job.run_dir),
                              environment=job.environment, run_id=Path(job.run_dir).name,
                              callbacks=callbacks)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - one failed run must not lose the others
        kind = "data" if isinstance(exc, DataError) else "write" if isinstance(exc, WriteError) else "error"
        return failed_record(job, error_line(exc), failure=kind)
    rec["fingerprint"] = job.fingerprint
    rec["failure"] = None
    rec["jobs_beside"] = job.beside
    rec.update(job.extra)
    if job.explain:
        from benchmarks.explain.folder import explain_fields
        from benchmarks.explain.record import ExplainSettings

        rec.update(explain_fields(rec, dataset, Path(job.run_dir), ExplainSettings(), lambda s: None))
    return rec
