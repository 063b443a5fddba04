"""Packaging facts: licence, typed markers, extras, and the lower-bounds constraints file in step
with the declared floors."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

from benchmarks.config.suite import tomllib  # tomli on Python 3.10

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[name.lower()] = version
    return out


def test_licence_file_matches_the_declared_licence():
    assert PROJECT["license"] == "Apache-2.0" and PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text.splitlines()) > 150  # the full text


def test_lower_bounds_pin_every_dependency_at_its_floor():
    pins = _pins(ROOT / "constraints" / "lower-bounds.txt")
    floors = {}
    for dep in PROJECT["dependencies"]:
        req = Requirement(dep)
        if req.marker and not req.marker.evaluate({"python_version": "3.11"}):
            continue
        (spec,) = [s for s in req.specifier if s.operator == ">="]
        floors[req.name.lower()] = spec.version
    assert set(pins) == set(floors)
    for name, floor in floors.items():
        assert pins[name].startswith(floor) or floor.startswith(pins[name]), (name, pins[name], floor)
    assert "h5py" not in floors  # keras brings it; nothing imports it


def test_ci_constraints_are_exact_and_exclude_the_project():
    pins = _pins(ROOT / "constraints" / "ci.txt")
    assert "oncobench" not in pins and all(pins.values())
    for name in ("tensorflow", "numpy", "pandas", "mlflow", "tensorboard"):
        assert name in pins


def test_extras_and_typed_markers():
    extras = PROJECT["optional-dependencies"]
    assert any(r.startswith("mlflow") for r in extras["mlflow"])
    assert any(r.startswith("tensorboard") for r in extras["tensorboard"])
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for pkg in ("benchmarks", "models", "datasets"):
        assert "py.typed" in data[pkg] and (ROOT / pkg / "py.typed").exists()
