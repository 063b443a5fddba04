"""Baselines: a run's records saved under ``results/baselines/NAME.json`` with the machine they
ran on, and loading either side of a comparison (baseline file, results.json or run folder).

``baseline save RESULTS_DIR [--name NAME]`` (``benchmarks.commands.baseline``) writes::

    {"schema_version": 1, "kind": "oncobench-baseline", "name": ..., "created_at": ...,
     "source": {"run_dir", "run_id", "command", "profile"},
     "machine": {"device_kind", "device_name", "cpu_model", "cpu_count", "gpus", "tensorflow",
                 "keras", "python", "platform", "control"},
     "meta": {...the run's meta...}, "records": [...]}

Per-sample test predictions are dropped unless ``--keep-scores`` (baselines are committed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import OncobenchError
from benchmarks.core.paths import path_problem, require_path
from benchmarks.records.results import NAMED, RESULTS_JSON, SCHEMA_VERSION, load_results, read_document

BASELINES_DIR = Path("results") / "baselines"
BASELINE_KIND = "oncobench-baseline"
# What makes two machines "the same" for raw speed comparisons.
MACHINE_ID_KEYS = ("device_kind", "cpu_model", "cpu_count", "gpus")
MACHINE_KEYS = ("device_kind", "device_name", "cpu_model", "cpu_count", "gpus", "tensorflow", "keras",
                "python", "platform", "control")
SLIM_DROP = ("test_labels", "test_scores")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def machine_of(env: dict[str, Any] | None) -> dict[str, Any]:
    """The machine facts kept with a baseline (missing ones are absent)."""
    env = env or {}
    return {k: env[k] for k in MACHINE_KEYS if env.get(k) is not None}


def machine_id(env: dict[str, Any] | None) -> tuple | None:
    """Hashable identity of a machine; None when the environment says nothing about it."""
    env = env or {}
    values = [env.get(k) for k in MACHINE_ID_KEYS]
    if all(v is None for v in values):
        return None
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def describe_machine(env: dict[str, Any] | None) -> str:
    """``CPU Intel Xeon ... x2`` / ``GPU NVIDIA H100 (CPU ... x16)``; ``unknown machine``."""
    env = env or {}
    if machine_id(env) is None:
        return "unknown machine"
    cpu = f"{env.get('cpu_model') or '?'} x{env.get('cpu_count') or '?'}"
    if env.get("device_kind") == "GPU" or env.get("gpus"):
        return f"GPU {', '.join(env.get('gpus') or [env.get('device_name') or '?'])} (CPU {cpu})"
    return f"CPU {cpu}"


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its records (environments filled in) and where they came from."""

    label: str
    path: Path
    kind: str  # "baseline" | "run"
    records: list[dict[str, Any]]
    machine: dict[str, Any]
    meta: dict[str, Any]
    created_at: str | None = None  # baselines: when saved


def _with_environment(records: list[dict[str, Any]], env: dict[str, Any]) -> list[dict[str, Any]]:
    """Copies of ``records``; one without an environment gets the run's (or baseline's) one."""
    return [r if r.get("environment") or not env else {**r, "environment": env} for r in records]


def resolve(spec: str | Path, baselines_dir: Path = BASELINES_DIR) -> Path:
    """A path as given, else a baseline name under ``baselines_dir``."""
    path = Path(spec)
    problem = path_problem(path)
    if problem is None:
        return path
    if problem != "file not found":  # a link loop, a broken link, no permission: say so
        require_path(path, "pass a run folder, a results.json or a baseline file")
    named = Path(baselines_dir) / f"{spec}.json"
    if _NAME.match(str(spec)) and named.is_file():
        return named
    raise OncobenchError(f"{spec}: no such file, run folder or baseline (looked in {baselines_dir}/); "
                         "pass a run folder, a results.json or a baseline name (see: baseline list)")


def load_side(spec: str | Path, baselines_dir: Path = BASELINES_DIR) -> Side:
    """Load a baseline file, a results.json, or a run folder (or a baseline by name)."""
    path = resolve(spec, baselines_dir)
    if path.is_dir() or path.name == RESULTS_JSON:
        doc = load_results(path, NAMED)
        path = path / RESULTS_JSON if path.is_dir() else path
        meta = doc.get("meta") or {}
        env = meta.get("environment") or {}
        records = doc["records"]  # validated by load_results
        if not env:
            env = next((r["environment"] for r in records if r.get("environment")), {})
        label = path.parent.name
        return Side(label, path, "run", _with_environment(records, env), machine_of(env), meta)
    doc = read_document(path, "baseline or results", "rerun the benchmark and re-save the baseline")
    records = doc["records"]  # validated by read_document
    meta = doc.get("meta") or {}
    machine = doc.get("machine") or machine_of(meta.get("environment"))
    label = str(doc.get("name") or path.stem)
    kind = "baseline" if doc.get("kind") == BASELINE_KIND else "run"
    return Side(label, path, kind, _with_environment(records, meta.get("environment") or machine),
                machine, meta, doc.get("created_at"))


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise OncobenchError(f"--name {name!r}: use letters, digits, '.', '_' or '-' (e.g. ci, cpu-2024)")
    return name


def default_name(side: Side) -> str:
    """The baseline name when ``--name`` is not given: the run id (or the file's name), with
    characters a name cannot hold replaced by '-' (``my run`` -> ``my-run``)."""
    source = side.path.parent.name if side.kind == "run" else side.label
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", source).strip("-._")
    if not _NAME.match(name):
        raise OncobenchError(f"{side.path}: cannot make a baseline name from {source!r}; pass --name NAME "
                             "(letters, digits, '.', '_' or '-', e.g. ci)")
    return name


def baseline_doc(side: Side, name: str, keep_scores: bool = False) -> dict[str, Any]:
    """The baseline file's content for a loaded run."""
    records = [r if keep_scores else {k: v for k, v in r.items() if k not in SLIM_DROP}
               for r in side.records]
    meta = side.meta
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": BASELINE_KIND,
        "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {"run_dir": str(side.path.parent), "run_id": side.path.parent.name,
                   "command": meta.get("command"), "profile": meta.get("profile")},
        "machine": side.machine,
        "meta": meta,
        "records": records,
    }


def save_baseline(results_dir: str | Path, name: str | None = None, *, baselines_dir: Path = BASELINES_DIR,
                  force: bool = False, keep_scores: bool = False) -> Path:
    """Store the records of ``results_dir`` as ``baselines_dir/NAME.json``; returns its path."""
    source = Path(results_dir)
    if path_problem(source) == "file not found":
        raise OncobenchError(f"{source}: no such run folder; pass results/<run-id> (or its results.json)")
    side = load_side(source, baselines_dir)
    if not any(r.get("status", "ok") == "ok" for r in side.records):
        raise OncobenchError(f"{side.path}: no successful run to save; fix the failures and re-run first")
    name = check_name(name) if name else default_name(side)
    out = Path(baselines_dir) / f"{name}.json"
    if out.exists() and not force:
        raise OncobenchError(f"{out} exists; pass --force to replace it, or choose another --name")
    doc = baseline_doc(side, name, keep_scores)
    atomic_write_text(out, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return out


def record_pairs(records: list[dict[str, Any]]) -> list[str]:
    """Sorted ``model/dataset`` pairs present in ``records``."""
    return sorted({f"{r.get('model')}/{r.get('dataset')}" for r in records})


def list_baselines(baselines_dir: Path = BASELINES_DIR) -> list[dict[str, Any]]:
    """One row per ``*.json`` baseline: name, created, profile, records, pairs, machine."""
    rows = []
    for path in sorted(Path(baselines_dir).glob("*.json")):
        try:
            side = load_side(path, baselines_dir)
        except OncobenchError as exc:
            rows.append({"name": path.stem, "error": str(exc)})
            continue
        failed = sum(1 for r in side.records if r.get("status", "ok") != "ok")
        rows.append({
            "name": side.label, "path": str(path),
            "created_at": side.created_at or side.meta.get("started_at"),
            "profile": side.meta.get("profile"), "records": len(side.records), "failed": failed,
            "pairs": record_pairs(side.records), "machine": describe_machine(side.machine),
            "tensorflow": side.machine.get("tensorflow"),
        })
    return rows
