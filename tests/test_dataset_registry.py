"""Every registered dataset spec is well formed, and every available one loads as its spec says."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from benchmarks.core.errors import DataError
from benchmarks.core.modalities import MODALITIES
from datasets import registry
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.registry import get_dataset, list_datasets, register_dataset, register_prefix, validate
from datasets.spec import OfficialSplit, SeededSplit

ROOT = Path(__file__).resolve().parents[1]
HEX = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "md5": re.compile(r"^[0-9a-f]{32}$")}
OFFLINE = LoadOptions(seed=0, data_dir=Path("/nonexistent/oncobench-data"))
AVAILABLE = [d.name for d in list_datasets() if d.available(OFFLINE)]


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry that the test may add to."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_PREFIXES", dict(registry._PREFIXES))


def _tiny(name: str = "tiny", modality: str = "tabular", classes=("a", "b")) -> Dataset:
    x, y = np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1])
    return Dataset(name=name, modality=modality, class_names=list(classes), train=Split(x, y),
                   val=Split(x[:2], y[:2]), test=Split(x[:2], y[:2]),
                   provenance=Provenance(source="test", licence="none"))


def _register(name: str = "tiny", **kw):
    args = {"modality": "tabular", "classes": ("a", "b"), "size": "4 x 3", "split": SeededSplit(),
            "provenance": Provenance(source="test", licence="none")} | kw
    return register_dataset(name, **args)


def test_bundled_sets_are_available_offline():
    assert {"breastmnist", "breastmnist_64", "golub", "wisconsin"} <= set(AVAILABLE)


@pytest.mark.parametrize("name", AVAILABLE)
def test_every_available_dataset_loads_and_matches_its_spec(name):
    spec = get_dataset(name)
    ds = spec.load(OFFLINE)
    assert ds.name == spec.name and ds.modality == spec.modality
    assert ds.num_classes == spec.num_classes
    assert tuple(ds.class_names) == spec.classes
    if isinstance(spec.split, OfficialSplit):
        if spec.split.val is None:  # validation carved from the official training samples
            assert len(ds.train) + len(ds.val) == spec.split.train
        else:
            assert (len(ds.train), len(ds.val)) == (spec.split.train, spec.split.val)
        assert len(ds.test) == spec.split.test
    assert spec.mismatches(ds) == []
    for fname, digest in ds.provenance.files.items():
        assert HEX["sha256"].match(digest), fname


@pytest.mark.parametrize("name", [d.name for d in list_datasets()])
def test_every_registered_spec_validates(name):
    spec = get_dataset(name)
    assert validate(spec) == []
    assert spec.modality in MODALITIES
    assert spec.provenance.source and spec.provenance.licence and spec.provenance.citation
    assert spec.size and spec.description and spec.num_classes >= 2
    assert isinstance(spec.split, (OfficialSplit, SeededSplit))
    assert spec.supports_cv == isinstance(spec.split, SeededSplit)
    for r in spec.remotes:
        assert r.url.startswith("https://") and HEX[r.algo].match(r.digest) and r.filename
    if spec.remotes:
        assert not spec.bundled and spec.how_to_get == f"python -m benchmarks download {name}"
    else:
        assert spec.bundled
    for p in spec.published:
        assert p.citation and p.model and p.setting
        assert p.accuracy is not None or p.result


def test_published_results_live_in_the_specs():
    from benchmarks.records.published import cited, published_for

    results, note = published_for("breastmnist")
    assert [p.model for p in results][:2] == ["ResNet-18 (28)", "ResNet-18 (224)"]
    assert (results[0].accuracy, results[0].roc_auc) == (0.863, 0.901) and "binary ACC" in note
    again, note64 = published_for("breastmnist_64")
    assert again == results and note64.startswith("this data set is BreastMNIST at 64x64")
    assert len(cited(results)) == 1 and "Scientific Data 10:41" in cited(results)[0]
    assert published_for("golub")[0][0].result.startswith("strong predictions for 29 of 34")
    assert published_for("uci_rnaseq")[0][0].accuracy_high == 0.999
    assert published_for("wisconsin") == ((), "") and published_for("nope") == ((), "")


def test_unknown_modality_fails_at_registration(scratch_registry):
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        _register(modality="audio")(lambda o: _tiny())
    assert "tiny" not in registry._REGISTRY


def test_duplicate_name_fails(scratch_registry):
    with pytest.raises(ValueError, match="'golub' registered twice"):
        _register("golub")(lambda o: _tiny("golub"))
    with pytest.raises(ValueError, match="'csv': registered twice"):
        register_prefix("csv")(lambda path: get_dataset("golub"))


@pytest.mark.parametrize("change", [
    {"provenance": Provenance(source="", licence="none")},
    {"remotes": (replace(get_dataset("dermamnist").remotes[0], digest=""),)},
])
def test_incomplete_spec_fails_at_registration(scratch_registry, change):
    with pytest.raises(ValueError, match="provenance needs a source|needs a url"):
        _register(**change)(lambda o: _tiny())


@pytest.mark.parametrize("loaded,message", [
    (_tiny("other"), "name is 'other'"),
    (_tiny(modality="image"), "modality is 'image', the spec says 'tabular'"),
    (_tiny(classes=("a", "c")), r"class names are \['a', 'c'\]"),
])
def test_load_checks_the_loaded_data_against_the_spec(scratch_registry, loaded, message):
    _register()(lambda o: loaded)
    with pytest.raises(DataError, match=f"dataset 'tiny': loaded data do not match its spec: {message}"):
        get_dataset("tiny").load()


def test_load_checks_official_split_sizes(scratch_registry):
    _register(split=OfficialSplit(train=4, val=2, test=3))(lambda o: _tiny())
    with pytest.raises(DataError, match="test has 2 samples, the official split has 3"):
        get_dataset("tiny").load()
    carved = OfficialSplit(train=5, test=2)  # train counts train + val
    _register("tiny_carved", split=carved)(lambda o: replace(_tiny(), name="tiny_carved"))
    with pytest.raises(DataError, match="train has 6 samples, the official split has 5"):
        get_dataset("tiny_carved").load()


def test_class_count_only_spec(scratch_registry):
    _register(classes=3)(lambda o: _tiny())
    with pytest.raises(DataError, match="2 classes, the spec says 3"):
        get_dataset("tiny").load()


def test_download_does_not_import_medmnist():
    code = "import sys, datasets.download; print('datasets.medmnist' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


LEAVES = {"benchmarks.core.errors", "benchmarks.core.paths", "benchmarks.core.atomic", "benchmarks.core.hashing",
          "benchmarks.core.modalities", "benchmarks.core.plugins"}


def test_plugins_is_a_leaf():
    """benchmarks.core.plugins (origins, entry points) imports only the standard library and errors."""
    tree = ast.parse((ROOT / "benchmarks" / "plugins.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name in ("__future__", "benchmarks.core.errors"), name


@pytest.mark.parametrize("path", sorted((ROOT / "datasets").glob("*.py")), ids=lambda p: p.name)
def test_datasets_import_only_benchmark_leaves(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            assert not name.startswith("models"), f"{path.name} imports {name}"
            if name.split(".")[0] == "benchmarks":
                assert name in LEAVES, f"{path.name} imports {name}"
