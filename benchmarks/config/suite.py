"""Suite files: an experiment as TOML data (``run --config suite.toml``), read into a ``Suite``.

A suite names models, datasets, a profile, seeds, plugins, training settings (``[training]``:
``RunConfig`` fields), data options (``[data]``: ``LoadOptions`` fields), hyper-parameters per
model (``[hparams.MODEL]``), recipe overrides per model (``[recipes.MODEL]``), tuned values per
pair (``[tuned."MODEL|DATASET"]``, as ``run --tuned`` loads them), federated ways to train
(``[[federated]]``: ``FederatedConfig`` fields), how jobs run (``[execution]``) and where to
write. Every run folder gets its resolved suite
(``suite.toml``), so ``run --config results/<run-id>/suite.toml`` reproduces the run.
Unknown keys and values of the wrong type are one-line errors listing the valid ones.
"""

from __future__ import annotations

import json
import math
import sys
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from benchmarks.config import RunConfig, get_profile, validate
from benchmarks.config.federated import CENTRAL, FederatedConfig, validate_federated
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import is_file_reference
from datasets.base import LoadOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SUITE_FILE = "suite.toml"  # the resolved suite saved in every run folder
# [training]: RunConfig fields a suite may set (profile, seeds, hparams have their own keys).
TRAINING_KEYS = tuple(f.name for f in fields(RunConfig)
                      if f.name not in ("profile", "seeds", "hparams", "verbose", "recipes", "tuned",
                                        "federated"))
# [data]: LoadOptions fields a suite may set (seed and fold are per job).
DATA_KEYS = tuple(f.name for f in fields(LoadOptions) if f.name not in ("seed", "fold"))
TOP_KEYS = ("models", "datasets", "profile", "seeds", "plugins", "output", "tensorboard", "threads",
            "inter_op_threads", "explain", "training", "data", "hparams", "recipes", "tuned", "federated",
            "execution")
FEDERATED_KEYS = tuple(f.name for f in fields(FederatedConfig))
# [execution]: keyword arguments of runner.execute (run --isolate/--jobs/--run-timeout/...)
EXECUTION_DEFAULTS: dict[str, Any] = {"isolate": False, "workers": 1, "run_timeout": None,
                                      "retry_failed": False, "executor": "local", "ray_address": None}
EXECUTORS = ("local", "ray")
TUNED_KEYS = ("hparams", "recipe", "learning_rate", "source")


@dataclass(frozen=True)
class Suite:
    """One experiment: what to run, how, and where; the data behind ``run`` and ``api.run``."""

    models: tuple[str, ...] = ()  # empty: every model
    datasets: tuple[str, ...] = ()  # empty: every available dataset
    config: RunConfig = field(default_factory=RunConfig)  # profile, seeds, hparams, training
    data: LoadOptions = field(default_factory=LoadOptions)
    plugins: tuple[str, ...] = ()  # modules or .py files registering models/datasets
    output: str | None = None  # run folder (None: results/<run-id>)
    tensorboard: str | None = None  # TensorBoard log folder
    threads: int | None = None  # TensorFlow intra-op threads
    inter_op_threads: int | None = None
    explain: bool = False  # explain each finished run (attributions, faithfulness)
    # ways to train (run --federated): a FederatedConfig per strategy, None = centralised
    ways: tuple[Any, ...] = (None,)
    # how jobs run (run --isolate/--jobs/--run-timeout/--executor): keyword arguments of runner.execute
    execution: dict[str, Any] = field(default_factory=dict)


def _hint_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_hint_ok(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # non-finite values pass here; config.validate names the flag and the range
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str or hint is Path:
        return isinstance(value, str)
    if origin is tuple or hint is tuple:
        return isinstance(value, (list, tuple))
    return True


def _hint_name(hint: Any) -> str:
    names = {bool: "true/false", int: "an integer", float: "a number", str: "a string", Path: "a path"}
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return " or ".join(names.get(a, "a list" if typing.get_origin(a) is tuple else str(a)) for a in args)


def _known(where: str, table: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    unknown = [k for k in table if k not in valid]
    if unknown:
        raise OncobenchError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(valid)}")


def _typed(where: str, table: Mapping[str, Any], cls: type, valid: tuple[str, ...]) -> dict[str, Any]:
    """``table`` checked against ``cls``'s field types (keys in ``valid`` only)."""
    if not isinstance(table, Mapping):
        raise OncobenchError(f"{where}: expected a table of {', '.join(valid)}")
    _known(where, table, valid)
    hints = typing.get_type_hints(cls)
    for key, value in table.items():
        if not _hint_ok(value, hints[key]):
            raise OncobenchError(f"{where}.{key} = {value!r}: expected {_hint_name(hints[key])}")
    return dict(table)


def _names(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise OncobenchError(f"{where}: expected a list of names, e.g. [\"dnn\", \"logreg\"]")
    return tuple(value)


def _optional_int(where: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise OncobenchError(f"{where} = {value!r}: must be an integer of at least 1 (or leave it out)")
    return value


def _per_model(where: str, value: Any, example: str) -> dict[str, dict[str, Any]]:
    """A table of tables (``[hparams.MODEL]``, ``[recipes.MODEL]``) as plain dicts."""
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise OncobenchError(f"{where}: expected one table per model, e.g. {example}")
    return {m: dict(v) for m, v in value.items()}


FLAGS = {"isolate": "--isolate", "workers": "--jobs", "run_timeout": "--run-timeout",
         "retry_failed": "--retry-failed", "executor": "--executor", "ray_address": "--ray-address"}


def check_execution(execution: Mapping[str, Any], where: str | None = None) -> dict[str, Any]:
    """How jobs run, checked: every key known, workers >= 1, a positive timeout, a known executor.
    Errors name ``where``'s key (a suite file) or, without ``where``, the command-line flag."""
    name = (lambda key: f"{where}.{key}") if where else FLAGS.__getitem__
    if not isinstance(execution, Mapping):
        raise OncobenchError(f"{where}: expected a table of {', '.join(EXECUTION_DEFAULTS)}")
    _known(where or "execution", execution, tuple(EXECUTION_DEFAULTS))
    out = {**EXECUTION_DEFAULTS, **execution}
    for key in ("isolate", "retry_failed"):
        if not isinstance(out[key], bool):
            raise OncobenchError(f"{name(key)} = {out[key]!r}: expected true/false")
    if isinstance(out["workers"], bool) or not isinstance(out["workers"], int) or out["workers"] < 1:
        raise OncobenchError(f"{name('workers')} {out['workers']!r}: must be at least 1")
    timeout = out["run_timeout"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout < float("inf")):
        raise OncobenchError(f"{name('run_timeout')} {timeout!r}: must be a positive number of seconds")
    if out["executor"] not in EXECUTORS:
        raise OncobenchError(f"{name('executor')} {out['executor']!r}: valid: {', '.join(EXECUTORS)}")
    address = out["ray_address"]
    if address is not None and (not isinstance(address, str) or out["executor"] != "ray"):
        raise OncobenchError(f"{name('ray_address')} needs {name('executor')} ray")
    return out


def _federated(where: str, value: Any) -> tuple[FederatedConfig | None, ...]:
    """``[[federated]]``: one table per way to train; ``strategy = "central"`` is the centralised
    run beside them (``run --federated central,fedavg``)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, Mapping) for v in value):
        raise OncobenchError(f"{where}: expected [[federated]] tables of {', '.join(FEDERATED_KEYS)}")
    ways: list[FederatedConfig | None] = []
    for i, table in enumerate(value):
        if table.get("strategy") == CENTRAL:
            _known(f"{where}[{i}]", table, ("strategy",))
            ways.append(None)
            continue
        way = FederatedConfig(**_typed(f"{where}[{i}]", table, FederatedConfig, FEDERATED_KEYS))
        validate_federated(way)
        ways.append(way)
    return tuple(ways)


def _tuned(where: str, value: Any) -> dict[str, dict[str, Any]]:
    """``[tuned."MODEL|DATASET"]``: what ``run --tuned`` loaded, kept in the suite."""
    if not isinstance(value, Mapping):
        raise OncobenchError(f"{where}: expected one table per \"MODEL|DATASET\" pair")
    out = {}
    for key, entry in value.items():
        if "|" not in key or not isinstance(entry, Mapping):
            raise OncobenchError(f"{where}.{key!r}: expected a table keyed \"MODEL|DATASET\"")
        _known(f"{where}.{key!r}", entry, TUNED_KEYS)
        for sub in ("hparams", "recipe"):
            if not isinstance(entry.get(sub) or {}, Mapping):
                raise OncobenchError(f"{where}.{key!r}.{sub}: expected a table")
        hp = {k: tuple(v) if isinstance(v, list) else v for k, v in (entry.get("hparams") or {}).items()}
        out[key] = {"hparams": hp, "recipe": dict(entry.get("recipe") or {}),
                    "learning_rate": entry.get("learning_rate"), "source": entry.get("source")}
    return out


def check_options(options: LoadOptions) -> LoadOptions:
    """Reject impossible data options (folds, gene counts, image sizes) in one line."""
    if options.cv_folds is not None and options.cv_folds < 2:
        raise OncobenchError(f"--cv {options.cv_folds}: need at least 2 folds")
    for flag, value in (("--top-k-genes", options.top_k_genes), ("--image-size", options.image_size)):
        if value is not None and value < 1:
            raise OncobenchError(f"{flag} {value}: must be at least 1 (or leave it out)")
    gb = options.cache_memory_gb
    if gb is not None and not (0 <= gb < float("inf")):
        raise OncobenchError(f"--cache-memory-gb {gb}: must be a finite number of GB, 0 or more")
    return options


def suite_from_mapping(doc: Mapping[str, Any], *, source: str = "suite",
                       base_dir: Path | None = None) -> Suite:
    """A ``Suite`` from a parsed TOML document (or the same keys from Python).

    Relative plugin files are resolved against ``base_dir`` (the suite file's folder).
    """
    _known(source, doc, TOP_KEYS)
    training = _typed(f"{source} [training]", doc.get("training") or {}, RunConfig, TRAINING_KEYS)
    if training.get("target") is not None:
        target = training["target"]
        if not (len(target) == 2 and isinstance(target[0], str) and _hint_ok(target[1], float)):
            raise OncobenchError(f"{source} [training].target = {target!r}: expected [METRIC, VALUE], "
                                 "e.g. [\"val_accuracy\", 0.85]")
        training["target"] = (target[0], float(target[1]))
    hparams = _per_model(f"{source} [hparams]", doc.get("hparams") or {}, "[hparams.dnn]")
    recipes = _per_model(f"{source} [recipes]", doc.get("recipes") or {}, "[recipes.cnn]")
    tuned = _tuned(f"{source} [tuned]", doc.get("tuned") or {})
    seeds = doc.get("seeds")
    if seeds is not None and (not isinstance(seeds, (list, tuple))
                              or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise OncobenchError(f"{source} seeds = {seeds!r}: expected a list of integers, e.g. [0, 1, 2]")
    profile = doc.get("profile") or "standard"
    if not isinstance(profile, str):
        raise OncobenchError(f"{source} profile = {profile!r}: expected a profile name")
    config = get_profile(profile).with_(**training, seeds=tuple(seeds) if seeds is not None else None)
    config = validate(config.with_(hparams=hparams or None, recipes=recipes or None, tuned=tuned or None))
    data = _typed(f"{source} [data]", doc.get("data") or {}, LoadOptions, DATA_KEYS)
    if data.get("data_dir") is not None:
        data["data_dir"] = Path(data["data_dir"])
    plugins = _names(f"{source} plugins", doc.get("plugins") or [])
    if base_dir is not None:
        plugins = tuple(str((base_dir / p).resolve()) if is_file_reference(p) and not Path(p).is_absolute()
                        else p for p in plugins)
    if not isinstance(doc.get("explain", False), bool):
        raise OncobenchError(f"{source} explain = {doc['explain']!r}: expected true or false")
    for key in ("output", "tensorboard"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise OncobenchError(f"{source} {key} = {doc[key]!r}: expected a folder path")
    return Suite(
        models=_names(f"{source} models", doc.get("models") or []),
        datasets=_names(f"{source} datasets", doc.get("datasets") or []),
        config=config, data=check_options(LoadOptions(**data)), plugins=plugins,
        output=doc.get("output"), tensorboard=doc.get("tensorboard"),
        threads=_optional_int(f"{source} threads", doc.get("threads")),
        inter_op_threads=_optional_int(f"{source} inter_op_threads", doc.get("inter_op_threads")),
        explain=bool(doc.get("explain", False)),
        ways=_federated(f"{source} [[federated]]", doc["federated"]) if doc.get("federated") else (None,),
        execution=check_execution(doc["execution"], f"{source} [execution]") if "execution" in doc else {},
    )


def read_toml(path: Path) -> dict[str, Any]:
    """A suite file's TOML document; a missing or malformed file is one line."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise OncobenchError(f"--config {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise OncobenchError(f"--config {path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise OncobenchError(f"--config {path}: cannot read ({exc.strerror})") from None


def read_suite(path: str | Path) -> Suite:
    """The ``Suite`` of a TOML file."""
    path = Path(path)
    return suite_from_mapping(read_toml(path), source=str(path), base_dir=path.resolve().parent)


# ---- writing -------------------------------------------------------------------------------------

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if not isinstance(value, float) or math.isfinite(value) else \
            ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def _table(rows: Mapping[str, Any]) -> list[str]:
    """``key = value`` lines; None (no TOML form) is left out."""
    return [f"{k} = {_toml_value(v)}" for k, v in rows.items() if v is not None]


def _tables(name: str, rows: Mapping[str, Any]) -> list[str]:
    """``[name]`` with its values, then a ``[name.KEY]`` sub-table for each mapping value."""
    lines = ["", f"[{name}]"] + _table({k: v for k, v in rows.items() if not isinstance(v, Mapping)})
    for key, sub in rows.items():
        if isinstance(sub, Mapping):
            lines += _tables(f"{name}.{json.dumps(key)}", sub)
    return lines


def suite_to_toml(suite: Suite, *, hparams: Mapping[str, Mapping[str, Any]] | None = None,
                  header: str = "") -> str:
    """``suite`` as TOML (every training and data setting spelled out); ``hparams``: the resolved
    hyper-parameters per model (default: the suite's overrides). ``output`` and ``tensorboard`` are
    written as comments, so running the file again writes a new run folder."""
    config = suite.config.as_dict()
    lines = [f"# {line}" for line in header.splitlines()]
    lines += _table({"models": list(suite.models), "datasets": list(suite.datasets),
                     "profile": suite.config.profile, "seeds": list(suite.config.seeds),
                     "plugins": list(suite.plugins), "threads": suite.threads,
                     "inter_op_threads": suite.inter_op_threads, "explain": suite.explain})
    commented = (("output", suite.output), ("tensorboard", suite.tensorboard))
    lines += [f"# {k} = {_toml_value(v)}" for k, v in commented if v is not None]
    lines += ["", "[training]"] + _table({k: config[k] for k in TRAINING_KEYS})
    data = asdict(suite.data)
    lines += ["", "[data]"] + _table({k: data[k] for k in DATA_KEYS})
    for model, values in (hparams if hparams is not None else suite.config.hparams).items():
        lines += ["", f"[hparams.{json.dumps(model)}]"] + _table(values)
    for model, values in suite.config.recipes.items():
        lines += _tables(f"recipes.{json.dumps(model)}", values)
    for pair, entry in suite.config.tuned.items():
        lines += _tables(f"tuned.{json.dumps(pair)}", entry)
    if any(suite.ways):
        for way in suite.ways:
            lines += ["", "[[federated]]"] + _table(asdict(way) if way else {"strategy": CENTRAL})
    if suite.execution:
        lines += ["", "[execution]"] + _table(suite.execution)
    return "\n".join(lines) + "\n"
