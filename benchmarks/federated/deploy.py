"""A Flower App folder for a real deployment of the same ClientApp and ServerApp.

``write_app(folder)`` writes ``pyproject.toml`` (components ``oncobench_fl:server_app`` and
``oncobench_fl:client_app``, run config ``job``) and a two-line shim module; oncobench itself
must be importable where the SuperLink and SuperNodes run. Steps (README "Federated learning"):

    flower-superlink --insecure --port 8000          # Flower 1.42: one HTTP port
    flower-supernode --insecure --superlink HOST:8000 --port 8001 --node-config "partition-id=0"
    flwr run APP_FOLDER local --run-config "job='/path/to/job'" --stream
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.core.atomic import atomic_write_text

APP_MODULE = "oncobench_fl"

PYPROJECT = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "oncobench-fl"
version = "1.0.0"
description = "oncobench federated ClientApp and ServerApp"
license = "MIT"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "oncobench"

[tool.flwr.app.components]
serverapp = "oncobench_fl:server_app"
clientapp = "oncobench_fl:client_app"

[tool.flwr.app.config]
job = ""
"""

SHIM = '''"""oncobench's Flower apps (benchmarks.federated.apps), for flwr run."""

from benchmarks.federated.apps import client_app, server_app

__all__ = ["client_app", "server_app"]
'''


def write_app(folder: Path) -> Path:
    """Write the Flower App into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "pyproject.toml", PYPROJECT)
    atomic_write_text(folder / f"{APP_MODULE}.py", SHIM)
    return folder


def write_connection(flwr_home: Path, control_address: str, name: str = "local") -> Path:
    """``$FLWR_HOME/config.toml`` naming an insecure SuperLink connection ``name`` (the default)."""
    flwr_home.mkdir(parents=True, exist_ok=True)
    path = flwr_home / "config.toml"
    atomic_write_text(path, f'[superlink]\ndefault = "{name}"\n\n[superlink.{name}]\n'
                            f'address = "{control_address}"\ninsecure = true\n')
    return path
