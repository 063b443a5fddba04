"""Plugins: a model from an installed distribution (entry point) and a model and a dataset from a
plain .py file run next to the built-in ones, with no file of oncobench edited; broken plugins
are one line naming the plugin, exit 2."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.core import plugins
from benchmarks.core.errors import OncobenchError

ROOT = Path(__file__).resolve().parent.parent

# An installed distribution: a Keras model, found through the 'oncobench.models' entry point.
DIST_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "oncobench-extmodels"
version = "0.1"

[project.entry-points."oncobench.models"]
ext = "extmodels"
"""
DIST_MODULE = '''\
"""A model shipped by another distribution."""
from models.registry import register_model


@register_model("ext_mlp", modalities=("expression", "tabular"))
def build(input_shape, num_classes, *, units: int = 8):
    """One hidden layer from an installed plugin."""
    import keras

    from models.heads import classifier_output

    inputs = keras.Input(input_shape)
    x = keras.layers.Dense(units, activation="relu")(inputs)
    return keras.Model(inputs, classifier_output(x, num_classes))
'''
# A plain file: a scikit-learn model and a (generated) dataset.
FILE_PLUGIN = '''\
import numpy as np

from benchmarks.core.modalities import TABULAR
from datasets.base import Dataset, Provenance, Split
from datasets.registry import register_dataset
from datasets.spec import SeededSplit
from models.registry import register_model


@register_model("file_knn", modalities=("expression", "tabular"), framework="sklearn")
def build(input_shape, num_classes, *, k: int = 5):
    """k nearest neighbours from a plain .py file."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=k)


@register_dataset("file_blobs", modality=TABULAR, classes=("a", "b"), size="120/40/40 x 6",
                  split=SeededSplit(), provenance=Provenance("generated (test)", "CC0"))
def load(options):
    """Two Gaussian blobs (generated)."""
    rng = np.random.default_rng(options.seed)
    y = np.repeat([0, 1], 100)
    x = (rng.normal(size=(200, 6)) + y[:, None] * 1.5).astype("float32")
    idx = rng.permutation(200)
    parts = [idx[:120], idx[120:160], idx[160:]]
    return Dataset("file_blobs", TABULAR, ["a", "b"], *(Split(x[i], y[i]) for i in parts),
                   provenance=Provenance("generated (test)", "CC0"))
'''



def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The extmodels distribution installed with pip --target into a private folder."""
    src = tmp_path_factory.mktemp("extsrc")
    (src / "pyproject.toml").write_text(DIST_PYPROJECT)
    (src / "extmodels.py").write_text(DIST_MODULE)
    target = tmp_path_factory.mktemp("site")
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                          "--no-build-isolation", "--target", str(target), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert list(target.glob("oncobench_extmodels-0.1.dist-info"))
    return target


def test_installed_and_file_plugins_run_next_to_builtins(installed, tmp_path):
    plugin = _write(tmp_path / "my_models.py", FILE_PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(installed)])}
    listed = subprocess.run([sys.executable, "-m", "benchmarks", "list", "--json", "--plugin", str(plugin)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    origin = {m["name"]: m["origin"] for m in doc["models"]}
    assert origin["dnn"] == "oncobench"
    assert origin["ext_mlp"] == "oncobench-extmodels (entry point ext)"
    assert origin["file_knn"] == f"plugin {plugin}"
    assert {d["name"]: d["origin"] for d in doc["datasets"]}["file_blobs"] == f"plugin {plugin}"

    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "--dataset", "wisconsin,file_blobs",
                          "--model", "ext_mlp,file_knn,logreg", "--profile", "quick",
                          "--plugin", str(plugin), "--output", "run"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines()]
    ran = {(r[0], r[1]) for r in rows if len(r) > 3 and r[2] == "1"}
    assert ran == {(d, m) for d in ("wisconsin", "file_blobs") for m in ("ext_mlp", "file_knn", "logreg")}
    records = json.loads((tmp_path / "run" / "results.json").read_text())["records"]
    assert all(r["status"] == "ok" for r in records) and len(records) == 6
    knn = next(r for r in records if r["model"] == "file_knn" and r["dataset"] == "file_blobs")
    assert knn["accuracy"] > 0.7  # the blobs are separable: the plugin model really trained
    assert "plugins = [" in (tmp_path / "run" / "suite.toml").read_text()


def test_list_shows_origin_column(isolated, tmp_path, capsys):
    plugin = _write(tmp_path / "mine.py", FILE_PLUGIN)
    assert main(["list", "--plugin", str(plugin)]) == 0
    out = capsys.readouterr().out
    assert "from" in out.splitlines()[1]
    line = next(ln for ln in out.splitlines() if ln.startswith("file_knn"))
    assert f"plugin {plugin}" in line


def test_download_a_plugin_dataset(isolated, tmp_path, capsys):
    """A plugin's remote dataset downloads (and verifies) with ``download NAME --plugin FILE``."""
    import hashlib

    source = tmp_path / "blobs.csv"
    source.write_text("a,b,label\n1,2,x\n3,4,y\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    plugin = _write(tmp_path / "remote_plugin.py", f'''
        from benchmarks.core.modalities import TABULAR
        from datasets.base import Provenance
        from datasets.download import Remote
        from datasets.registry import register_dataset
        from datasets.spec import SeededSplit

        REMOTE = Remote(name="remote_blobs", url={source.as_uri()!r}, filename="blobs.csv",
                        digest={digest!r}, subdir="remote_blobs")


        @register_dataset("remote_blobs", modality=TABULAR, classes=("x", "y"), size="2 x 2",
                          split=SeededSplit(), provenance=Provenance("generated (test)", "CC0"),
                          remotes=(REMOTE,))
        def load(options):
            """Two rows, downloaded."""
            raise NotImplementedError
        ''')
    data = tmp_path / "data"
    assert main(["download", "remote_blobs", "--data-dir", str(data)]) == 2
    assert "unknown dataset 'remote_blobs'" in capsys.readouterr().err
    assert main(["download", "remote_blobs", "--plugin", str(plugin), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert (data / "remote_blobs" / "blobs.csv").read_bytes() == source.read_bytes()
    assert f"remote_blobs: {data / 'remote_blobs' / 'blobs.csv'}" in out
    from datasets.registry import get_dataset

    assert get_dataset("remote_blobs").how_to_get.endswith(f"download remote_blobs --plugin {plugin}")


def test_explain_reloads_the_plugins_of_a_run(isolated, tmp_path, capsys):
    """``explain RUN --trust-plugins`` registers the run's plugin models again (from its suite.toml)."""
    plugin = _write(tmp_path / "mine.py", FILE_PLUGIN)
    out = tmp_path / "r"
    assert main(["run", "--model", "file_knn", "--dataset", "wisconsin", "--profile", "quick",
                 "--plugin", str(plugin), "--output", str(out)]) == 0
    from datasets import registry as dreg
    from models import registry as mreg

    del mreg._REGISTRY["file_knn"], dreg._REGISTRY["file_blobs"]  # as in a new process
    plugins._loaded.clear()
    explain = ["explain", str(out), "--method", "permutation", "--samples", "20", "--no-sanity"]
    assert main(explain) == 2  # a folder's plugins run code: imported only with consent (issue 27)
    assert "--trust-plugins" in capsys.readouterr().err and "file_knn" not in mreg._REGISTRY
    assert main([*explain, "--trust-plugins"]) == 0
    capsys.readouterr()
    (rec,) = json.loads((out / "results.json").read_text())["records"]
    assert rec["faithfulness"] is not None and rec["explanations"]["methods"]["permutation"]


def test_module_plugin_by_name(isolated, tmp_path, monkeypatch):
    _write(tmp_path / "mod_plugin_xyz.py", FILE_PLUGIN.replace("file_knn", "mod_knn")
           .replace('"file_blobs"', '"mod_blobs"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.load_plugins(["mod_plugin_xyz"])
    from models.registry import get_model

    assert get_model("mod_knn").origin == "plugin mod_plugin_xyz"


@pytest.mark.parametrize("body,problem", [
    ("import no_such_module_abc\n", "ModuleNotFoundError: No module named 'no_such_module_abc'"),
    ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ("def broken(:\n", "SyntaxError"),
    ("from models.registry import register_model\n"
     "@register_model('dnn', modalities=('tabular',))\n"
     "def build(input_shape, num_classes):\n    pass\n",
     "model 'dnn' registered twice (first by oncobench)"),
    ("from models.registry import register_model\n"
     "@register_model('bad_sig', modalities=('tabular',))\n"
     "def build(shape, *, units=3):\n    pass\n",
     "must take (input_shape, num_classes, *, hparam=default, ...)"),
    ("from models.registry import register_model\n"
     "@register_model('no_default', modalities=('tabular',))\n"
     "def build(input_shape, num_classes, *, units):\n    pass\n",
     "hyper-parameter 'units' needs a default"),
    ("from datasets.registry import register_dataset\n"
     "from datasets.base import Provenance\nfrom datasets.spec import SeededSplit\n"
     "@register_dataset('golub', modality='expression', classes=2, size='?', split=SeededSplit(),\n"
     "                  provenance=Provenance('x', 'y'))\n"
     "def load(options):\n    pass\n",
     "dataset 'golub' registered twice (first by oncobench)"),
])
def test_broken_plugin_is_one_line_exit_2(isolated, tmp_path, capsys, body, problem):
    plugin = _write(tmp_path / "broken.py", body)
    for argv in (["list"], ["run", "--model", "logreg", "--dataset", "wisconsin", "--output",
                            str(tmp_path / "r")]):
        plugins._loaded.clear()
        rc = main(argv + ["--plugin", str(plugin)])
        err = capsys.readouterr().err.strip()
        assert rc == 2
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert err.startswith(f"error: plugin {plugin}: ") and problem in err
    assert not (tmp_path / "r").exists()


def test_missing_plugin_file_and_module(isolated, tmp_path, capsys):
    assert main(["list", "--plugin", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["list", "--plugin", "no_such_plugin_module_q"]) == 2
    assert "No module named 'no_such_plugin_module_q'" in capsys.readouterr().err


def test_broken_entry_point_names_it(isolated, monkeypatch):
    ep = importlib.metadata.EntryPoint(name="bad", value="no_such_ep_module_z", group=plugins.MODEL_GROUP)
    monkeypatch.setattr(plugins.importlib.metadata, "entry_points",
                        lambda group: [ep] if group == plugins.MODEL_GROUP else [])
    with pytest.raises(OncobenchError, match=r"\(entry point bad\) = 'no_such_ep_module_z': "
                                             r"ModuleNotFoundError"):
        plugins.entry_point_plugins(plugins.MODEL_GROUP)


def test_model_from_an_imported_module_names_that_module(isolated, tmp_path, monkeypatch):
    _write(tmp_path / "nb_models_q.py", FILE_PLUGIN.replace("file_knn", "nb_knn")
           .replace('"file_blobs"', '"nb_blobs"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    import nb_models_q  # noqa: F401 - registers on import, as from a notebook

    from datasets.registry import get_dataset
    from models.registry import get_model

    assert get_model("nb_knn").origin == "module nb_models_q"
    assert get_dataset("nb_blobs").origin == "module nb_models_q"
    assert get_model("logreg").origin == "oncobench"
