"""One run = one job: a serialisable (model, dataset, seed, fold, configuration, data options,
plugins) that any executor (in process, a fresh local process, a Ray task) turns into one record."""

from __future__ import annotations

import dataclasses
import importlib
import json
import signal
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from benchmarks.config import RunConfig
from benchmarks.core.errors import DataError, OncobenchError

# Failure kinds a rerun does not retry unless --retry-failed: the job's process died or hung.
NOT_RETRIED = ("crash", "timeout")


@dataclass(frozen=True)
class Job:
    """Everything one run needs, as plain data (JSON round-trips)."""

    model: str
    dataset: str
    seed: int
    fold: int | None
    config: dict[str, Any]  # RunConfig.as_dict()
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

        return record_key(self.model, self.dataset, self.seed, self.fold, self.run_config().variant)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Job":
        d = json.loads(text)
        d["plugins"] = tuple(d.get("plugins") or ())
        if d.get("cpus") is not None:
            d["cpus"] = tuple(d["cpus"])
        return cls(**d)

    def run_config(self) -> RunConfig:
        d = dict(self.config)
        d["seeds"] = tuple(d.get("seeds") or (self.seed,))
        d["target"] = tuple(d["target"]) if d.get("target") else None
        if isinstance(d.get("federated"), dict):  # a way to train other than centralised
            from benchmarks.config.federated import FederatedConfig

            d["federated"] = FederatedConfig(**d["federated"])
        names = {f.name for f in dataclasses.fields(RunConfig)}
        return RunConfig(**{k: v for k, v in d.items() if k in names})

    def load_options(self):
        from datasets.base import LoadOptions

        d = dict(self.options)
        d["data_dir"] = Path(d["data_dir"]) if d.get("data_dir") else None
        return replace(LoadOptions(**d), seed=self.seed, fold=self.fold)


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
    rec = record_header(mspec, job.dataset, modality, job.seed, job.fold, job.run_config(),
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
    for mod in plugins:
        importlib.import_module(mod)


def run_job(job: Job, *, dataset: Any = None, callbacks: list | None = None,
            run: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run one job in this process and return its record (a failed record on an exception;
    ``DataError`` propagates so the in-process driver can stop the suite). ``run``: the
    function that trains (default ``harness.run_one``)."""
    from benchmarks.execution.harness import run_one
    from datasets.registry import get_dataset
    from models.registry import get_model

    import_plugins(job.plugins)
    try:
        mspec = get_model(job.model)
        if dataset is None:
            dataset = get_dataset(job.dataset).load(job.load_options())
        rec = (run or run_one)(mspec, dataset, job.seed, job.run_config(), run_dir=Path(job.run_dir),
                      environment=job.environment, run_id=Path(job.run_dir).name, callbacks=callbacks)
    except (KeyboardInterrupt, DataError):
        raise
    except Exception as exc:  # noqa: BLE001 - one failed run must not lose the others
        return failed_record(job, error_line(exc))
    rec["fingerprint"] = job.fingerprint
    rec["failure"] = None
    rec["jobs_beside"] = job.beside
    rec.update(job.extra)
    if job.explain:
        from benchmarks.explain.folder import explain_fields
        from benchmarks.explain.record import ExplainSettings

        rec.update(explain_fields(rec, dataset, Path(job.run_dir), ExplainSettings(), lambda s: None))
    return rec
