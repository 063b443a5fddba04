"""Plugins: models and datasets from outside oncobench, registered with the same decorators.

Two ways in: the ``oncobench.models`` / ``oncobench.datasets`` entry-point groups of any
installed distribution (loaded by the registries on first use), and ``--plugin MODULE`` or
``--plugin FILE.py`` (``load_plugins``). Each registration remembers its origin
(``current_origin``), which ``list`` shows. A plugin that fails to import, registers a
duplicate name or a builder with a bad signature is one ``OncobenchError`` naming it.

A leaf module (standard library and ``benchmarks.core.errors`` only): ``models`` and ``datasets``
import it.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Iterator

from benchmarks.core.errors import OncobenchError

BUILTIN = "oncobench"  # the origin of the models and datasets shipped with oncobench
MODEL_GROUP = "oncobench.models"
DATASET_GROUP = "oncobench.datasets"
OWN_PACKAGES = ("benchmarks", "models", "datasets")

_origin: contextvars.ContextVar[str] = contextvars.ContextVar("oncobench_origin", default=BUILTIN)
_loaded: dict[str, ModuleType] = {}  # plugin reference -> module (each loaded once)


def current_origin(module: str | None = None) -> str:
    """Where a registration made now from ``module`` comes from: the plugin being loaded, else
    ``BUILTIN`` for oncobench's own packages, else ``module NAME`` (e.g. imported by a notebook)."""
    origin = _origin.get()
    if origin != BUILTIN or module is None or module.split(".")[0] in OWN_PACKAGES:
        return origin
    return f"module {module}"


@contextlib.contextmanager
def registering_from(origin: str) -> Iterator[None]:
    """Registrations inside this block record ``origin``."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def is_file_reference(ref: str) -> bool:
    """``ref`` names a Python file (``x.py`` or a path), not a module."""
    return ref.endswith(".py") or "/" in ref or "\\" in ref


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"no such file {path}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    name = f"oncobench_plugin_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _problem(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, (ValueError, OncobenchError)):
        return first  # the registries' own messages (duplicate name, bad builder signature)
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def import_plugin(ref: str, origin: str | None = None) -> ModuleType:
    """Import plugin ``ref`` (a module name or a ``.py`` file) once, recording ``origin``."""
    key = str(Path(ref).resolve()) if is_file_reference(ref) else ref
    if key in _loaded:
        return _loaded[key]
    origin = origin or f"plugin {ref}"
    try:
        with registering_from(origin):
            module = _import_file(Path(ref).resolve()) if is_file_reference(ref) \
                else importlib.import_module(ref)
    except Exception as exc:  # noqa: BLE001 - any plugin failure is one line naming it
        raise OncobenchError(f"{origin}: {_problem(exc)}; fix the plugin or leave it out") from exc
    _loaded[key] = module
    return module


def load_plugins(refs: list[str] | tuple[str, ...] | None) -> list[ModuleType]:
    """Import every ``--plugin`` reference (a registration from a plugin loads the built-ins
    first, so a duplicate name is blamed on the plugin)."""
    return [import_plugin(ref) for ref in refs or ()]


def entry_point_plugins(group: str) -> None:
    """Import every entry point of ``group`` from the installed distributions."""
    for ep in importlib.metadata.entry_points(group=group):
        dist = getattr(ep.dist, "name", None) or "?"
        origin = f"{dist} (entry point {ep.name})"
        if ep.value in _loaded:
            continue
        try:
            with registering_from(origin):
                module = ep.load()
        except Exception as exc:  # noqa: BLE001 - any plugin failure is one line naming it
            raise OncobenchError(f"{origin} = {ep.value!r}: {_problem(exc)}; fix the plugin or "
                                 f"uninstall {dist}") from exc
        _loaded[ep.value] = module
