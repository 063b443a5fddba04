"""The folder tree shows the layers: no two folders (or top-level modules) of ``benchmarks/``,
``models/`` and ``datasets/`` import each other, and ``models``/``datasets`` import only the
shared core of ``benchmarks``. Read from the source (AST), so no module is imported."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmarks", "models", "datasets")


def unit(module: str) -> str | None:
    """The layer a dotted module belongs to: ``models``, ``datasets``, or ``benchmarks.X`` where X
    is the folder or top-level module under ``benchmarks/`` (None: outside the project)."""
    parts = module.split(".")
    if parts[0] in ("models", "datasets"):
        return parts[0]
    if parts[0] != "benchmarks":
        return None
    return "benchmarks" if len(parts) == 1 else f"benchmarks.{parts[1]}"


def exists(module: str) -> bool:
    path = ROOT / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every project module ``path`` imports (at any depth, lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES and exists(m)}


def layer_edges() -> dict[str, dict[str, list[str]]]:
    """{source layer: {target layer: [files importing it]}}."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
            source = unit(module)
            for target in {unit(m) for m in imports(path)} - {source, None}:
                if source != "benchmarks" and target != "benchmarks":  # the package root: version only
                    edges[source][target].append(str(rel))
    return edges


def test_unit_names_the_layer():
    assert unit("benchmarks.records.results") == "benchmarks.records"
    assert unit("benchmarks.api") == "benchmarks.api"
    assert unit("models.registry") == "models"
    assert unit("numpy.linalg") is None


def test_no_two_layers_import_each_other():
    edges = layer_edges()
    cycles = sorted(
        f"{a} <-> {b} ({edges[a][b][0]} / {edges[b][a][0]})"
        for a in edges for b in edges[a] if a < b and a in edges.get(b, {})
    )
    assert not cycles, "layers that import each other:\n" + "\n".join(cycles)


def test_models_and_datasets_import_only_the_core():
    edges = layer_edges()
    allowed = {"benchmarks.core", "models", "datasets"}
    bad = {src: {t: files[:2] for t, files in edges[src].items() if t not in allowed}
           for src in ("models", "datasets")}
    assert bad == {"models": {}, "datasets": {}}


def test_models_and_datasets_do_not_import_each_other():
    edges = layer_edges()
    assert "datasets" not in edges["models"] and "models" not in edges["datasets"]


def test_the_check_finds_a_cycle(tmp_path, monkeypatch):
    """The check is not vacuous: two planted folders that import each other are reported."""
    for name, other in (("aaa", "bbb"), ("bbb", "aaa")):
        (tmp_path / "benchmarks" / name).mkdir(parents=True)
        (tmp_path / "benchmarks" / name / "__init__.py").write_text(f"from benchmarks.{other} import x\n")
    (tmp_path / "benchmarks" / "__init__.py").write_text("")
    for package in ("models", "datasets"):
        (tmp_path / package).mkdir()
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    edges = layer_edges()
    assert edges["benchmarks.aaa"]["benchmarks.bbb"] and edges["benchmarks.bbb"]["benchmarks.aaa"]
