"""Fuzz: malformed CSV / npz / image-folder inputs generated from a seed.

Every case either loads (exit 0) with finite features, images in [0, 1] and sane
logistic-regression metrics, or fails with one ``error:`` line under 300 characters
(exit 2). Never a traceback, never exit 1 for a data problem. Most cases run through
the loading path (mapped to exit codes the way the CLI does); a subset runs end to end.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from benchmarks.core.errors import OncobenchError
from datasets.base import LoadOptions
from datasets.registry import get_dataset

SEED = 20261125
N_CASES = 240  # loading-path cases
N_CLI = 20  # of which run end to end through benchmarks.cli.main
TOKENS = ["", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "3e38", "abc", "x" * 3000, " A", "A ", "1,5",
          '"', "\x00", "é", "0x1F", "--", "1e-320", "true"]


@dataclass
class Case:
    """One generated input: a short description, its ``--dataset`` value and load options."""

    what: str
    dataset: str
    options: LoadOptions
    cli: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- CSV cases
def _csv_rows(rng: random.Random, n: int) -> tuple[list[str], list[list[str]]]:
    head = ["id", "label", "G1", "G2", "G3"]
    rows = [[f"s{i}", ("tumour", "normal")[i % 2], *(f"{rng.gauss(i % 2, 1):.3f}" for _ in range(3))]
            for i in range(n)]
    return head, rows


def _csv_case(rng: random.Random, k: int) -> Case:
    head, rows = _csv_rows(rng, rng.choice([4, 12, 24]))
    sep, what = ",", []
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
        m = rng.choice(["cell", "cell", "cell", "sep", "dup_header", "dup_id", "constant", "one_class",
                        "continuous", "comma_row", "ragged", "no_header", "short"])
        what.append(m)
        r = rng.randrange(len(rows))
        if m == "cell":
            rows[r][rng.randrange(len(head))] = rng.choice(TOKENS)
        elif m == "sep":
            sep = rng.choice([";", "\t", "|"])
        elif m == "dup_header":
            head[rng.randrange(2, len(head))] = head[rng.randrange(len(head))]
        elif m == "dup_id":
            rows[r][0] = rows[0][0]
        elif m == "constant":
            for row in rows:
                row[2:] = ["7"] * (len(row) - 2)
        elif m == "one_class":
            for row in rows:
                row[1] = "A"
        elif m == "continuous":
            for row in rows:
                row[1] = f"{rng.random():.4f}"
        elif m == "comma_row":
            rows.insert(r, [""] * len(head))
        elif m == "ragged":
            rows[r] = rows[r] + ["1", "2"]
        elif m == "no_header":
            head = rows.pop(0)
        elif m == "short":
            rows = rows[:2]
    text = (sep.join(head) + "\n" + "".join(sep.join(row) + "\n" for row in rows)).encode("utf-8", "replace")
    suffix = ".csv"
    form = rng.choice(["plain"] * 6 + ["latin1", "truncate", "gz", "gz_cut", "gz_fake", "bz2_junk", "empty",
                                       "binary"])
    what.append(form)
    if form == "latin1":
        text = text.replace(b"tumour", "tumeur bénigne".encode("latin-1"))
    elif form == "truncate":
        text = text[: rng.randrange(1, len(text))]
    elif form == "gz":
        text, suffix = gzip.compress(text), ".csv.gz"
    elif form == "gz_cut":
        text, suffix = gzip.compress(text)[: rng.randrange(1, 60)], ".csv.gz"
    elif form == "gz_fake":
        suffix = ".csv.gz"
    elif form == "bz2_junk":
        text, suffix = b"BZh9" + bz2.compress(text)[10:40], ".csv.bz2"
    elif form == "empty":
        text = b""
    elif form == "binary":
        text = bytes(rng.randrange(256) for _ in range(200))
    path = Path(f"c{k}{suffix}")
    path.write_bytes(text)
    opts = LoadOptions(label_column="label", id_column=rng.choice(["id"] * 4 + [None]),
                       impute=rng.choice(["median", "median", "error", "zero"]),
                       cv_folds=rng.choice([None, None, 3]), seed=k)
    cli = ["--label-column", "label", "--impute", opts.impute]
    cli += ["--id-column", "id"] if opts.id_column else []
    cli += ["--cv", "3"] if opts.cv_folds else []
    return Case(" ".join(what), f"csv:{path}", opts, cli)


# ---------------------------------------------------------------- npz cases
def _retype(a: np.ndarray, dtype: str) -> np.ndarray:
    """uint8 pixels stored as another dtype (scaled to its range where that is the point)."""
    if dtype == "uint16":
        return a.astype(np.uint16) * 257
    if dtype == "int32":
        return a.astype(np.int32) * 1000  # up to 255000: wider than 16 bits
    if dtype == "float32":
        return a.astype(np.float32) / 255
    if dtype == "bool":
        return a > 127
    return a.astype(dtype)


def _npz_case(rng: random.Random, k: int) -> Case:
    nrng = np.random.default_rng(k)
    chans = rng.choice([1, 3])
    arrays: dict[str, np.ndarray] = {}
    for split, n in zip(("train", "val", "test"), (8, 4, 4)):
        shape = (n, 6, 6) + ((3,) if chans == 3 else ())
        arrays[f"{split}_images"] = nrng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).astype(np.uint8).reshape(-1, 1)
    what = []
    for _ in range(rng.choice([0, 1, 1, 2])):
        m = rng.choice(["dtype", "dtype", "nonfinite", "huge", "negative", "labels2d", "label_float",
                        "label_big", "one_class", "empty", "missing", "strings", "ndim", "length", "ok"])
        what.append(m)
        s = rng.choice(["train", "val", "test"])
        img, lab = f"{s}_images", f"{s}_labels"
        if m == "dtype":
            dt = rng.choice(["uint16", "int32", "float32", "float64", "bool", "int8"])
            what.append(dt)
            arrays[img] = _retype(arrays[img], dt)
        elif m == "nonfinite":
            a = arrays[img].astype(np.float32) / 255
            a.flat[rng.randrange(a.size)] = rng.choice([np.nan, np.inf, -np.inf])
            arrays[img] = a
        elif m == "huge":
            arrays[img] = arrays[img].astype(np.float64) * 1e30
        elif m == "negative":
            arrays[img] = arrays[img].astype(np.int16) - 200
        elif m == "labels2d":
            arrays[lab] = np.eye(2, dtype=np.uint8)[arrays[lab].reshape(-1)]
        elif m == "label_float":
            arrays[lab] = arrays[lab].astype(np.float32) + 0.5
        elif m == "label_big":
            arrays[lab] = arrays[lab].astype(np.int64)
            arrays[lab][0] = rng.choice([10 ** 6, 2 ** 40, -1])
        elif m == "one_class":
            arrays["train_labels"] = np.zeros_like(arrays["train_labels"])
        elif m == "empty":
            arrays[img], arrays[lab] = arrays[img][:0], arrays[lab][:0]
        elif m == "missing":
            del arrays[rng.choice(sorted(arrays))]
        elif m == "strings":
            arrays[img] = arrays[img].astype(str)
        elif m == "ndim":
            arrays[img] = arrays[img][..., None, None]
        elif m == "length":
            arrays[lab] = arrays[lab][:-1]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    form = rng.choice(["plain"] * 6 + ["truncate", "npy", "junk"])
    what.append(form)
    if form == "truncate":
        data = data[: rng.randrange(1, len(data))]
    elif form == "npy":
        buf = io.BytesIO()
        np.save(buf, next(iter(arrays.values())))
        data = buf.getvalue()
    elif form == "junk":
        data = bytes(rng.randrange(256) for _ in range(100))
    path = Path(f"n{k}.npz")
    path.write_bytes(data)
    size = rng.choice([None] * 8 + [4, 4, -1, 2000])
    return Case(" ".join(what), f"npz:{path}", LoadOptions(image_size=size),
                ["--image-size", str(size)] if size is not None else [])


# ---------------------------------------------------------------- image-folder cases
def _image(rng: random.Random, kind: str, level: int):
    from PIL import Image

    size = (6, 6)
    if kind == "L16":
        return Image.fromarray(np.full(size, level * 257, np.uint16)), ".png"
    if kind == "F":
        return Image.fromarray(np.full(size, level / 255, np.float32)), ".tif"
    if kind == "F_out":
        return Image.fromarray(np.full(size, level * 3.0, np.float32)), ".tif"
    img = Image.fromarray(np.full(size, level, np.uint8)).convert(kind)
    return img, rng.choice([".png", ".jpg"]) if kind in ("L", "RGB") else ".png"


def _folder_case(rng: random.Random, k: int) -> Case:
    root = Path(f"f{k}")
    what = []
    kinds = [rng.choice(["L", "RGB", "RGBA", "P", "1", "L16", "F", "F_out", "LA"]) for _ in range(2)]
    what += kinds
    for c, kind in enumerate(kinds):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(4):
            img, suffix = _image(rng, kind, 40 + 150 * c + i)
            img.save(root / f"class{c}" / f"{i}{suffix}")
    m = rng.choice(["ok", "ok", "truncated", "empty_file", "text", "mixed_size", "empty_class", "bomb"])
    what.append(m)
    target = root / "class0" / "x.png"
    if m == "truncated":
        target.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    elif m == "empty_file":
        target.write_bytes(b"")
    elif m == "text":
        target.write_text("not an image")
    elif m == "mixed_size":
        from PIL import Image

        Image.new("L", (9, 5)).save(target)
    elif m == "empty_class":
        (root / "class9").mkdir()
    elif m == "bomb":
        from test_bad_input_data import _png_header

        _png_header(target, 20000, 20000)
    size = rng.choice([None] * 5 + [4, 4, 8, -1, 0, 2000])
    return Case(" ".join(what), f"folder:{root}", LoadOptions(image_size=size, seed=k),
                ["--image-size", str(size)] if size is not None else [])


MAKERS: tuple[Callable[[random.Random, int], Case], ...] = (_csv_case, _csv_case, _npz_case, _folder_case)


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> tuple[Path, list[Case]]:
    """Every generated case, written under one temporary folder (paths relative to it)."""
    import os

    root = tmp_path_factory.mktemp("fuzz")
    here = os.getcwd()
    os.chdir(root)
    try:
        rng = random.Random(SEED)
        return root, [MAKERS[k % len(MAKERS)](rng, k) for k in range(N_CASES)]
    finally:
        os.chdir(here)


def _assert_one_line(msg: str, case: Case) -> None:
    line = f"error: {msg}"
    assert "\n" not in msg and len(line) < 300, f"{case.what}: {line[:400]}"


def _assert_sane(ds, case: Case) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    for split in (ds.train, ds.val, ds.test):
        x = split.floats()  # images are stored as pixels, scaled per batch (issue 17)
        assert np.isfinite(x).all(), case.what
        assert len(split) > 0 and split.y.min() >= 0 and split.y.max() < ds.num_classes, case.what
        if ds.modality == "image":
            assert x.min() >= 0 and x.max() <= 1, case.what
    flat = ds.train.floats().reshape(len(ds.train), -1)
    model = LogisticRegression(max_iter=200).fit(flat, ds.train.y)
    pred = model.predict(ds.test.floats().reshape(len(ds.test), -1))
    for score in (accuracy_score(ds.test.y, pred), balanced_accuracy_score(ds.test.y, pred)):
        assert np.isfinite(score) and 0 <= score <= 1, case.what


def test_fuzz_loading_path(cases, monkeypatch):
    """Loading-path exit codes: 0 with sane data and metrics, or 2 with one short line."""
    import warnings

    root, generated = cases
    monkeypatch.chdir(root)
    codes = {0: 0, 2: 0}
    for case in generated:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # sklearn convergence / ill-conditioning on tiny data
                ds = get_dataset(case.dataset).load(case.options)
                _assert_sane(ds, case)
            codes[0] += 1
        except OncobenchError as exc:
            assert exc.exit_code == 2
            _assert_one_line(str(exc), case)
            codes[2] += 1
    assert sum(codes.values()) == N_CASES >= 200
    assert codes[0] >= 20 and codes[2] >= 20, codes  # the generator exercises both outcomes


def test_fuzz_end_to_end_cli(cases, monkeypatch, capsys):
    """A subset through ``benchmarks.cli.main``: exit 0 with metrics in [0, 1], or exit 2, one line."""
    from benchmarks.cli import main

    root, generated = cases
    monkeypatch.chdir(root)
    step = len(generated) // N_CLI
    picked = [generated[i * step + i % len(MAKERS)] for i in range(N_CLI)]  # every input kind
    for i, case in enumerate(picked):
        out = Path(f"out{i}")
        rc = main(["run", "--model", "logreg", "--profile", "quick", "--dataset", case.dataset, *case.cli,
                   "--output", str(out)])
        err = capsys.readouterr().err
        assert "Traceback" not in err, f"{case.what}: {err[-2000:]}"
        assert rc in (0, 2), f"{case.what}: exit {rc}: {err[-2000:]}"
        if rc == 2:
            lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
            assert len(lines) == 1 and err.rstrip().endswith(lines[0]), f"{case.what}: {err[-1000:]}"
            _assert_one_line(lines[0][len("error: "):], case)
            continue
        records = json.loads((out / "results.json").read_text())["records"]
        for r in records:
            assert r["status"] == "ok", f"{case.what}: {r.get('error')}"
            assert 0.0 <= r["accuracy"] <= 1.0, case.what


# ================================================================ files beside the data (issue 27)
# Suite files, tuned files, results files and plugin files, generated from the same seed. Each is
# read through the function the commands call (in-process, fast); it either passes every check
# (exit 0: for results files, compare's numbers are finite) or raises OncobenchError, one line
# under 300 characters (exit 2). Anything else (a traceback) fails the test.
N_SUITES, N_TUNED, N_RESULTS, N_PLUGINS = 60, 50, 50, 30
VALUES = [0, 1, -1, 3, 2**32, 2**40, 0.5, -0.5, 7.0, 1e308, float("nan"), float("inf"), True, "", "x",
          "dnn", "logreg", "fast", "x" * 400, [], [1, 2], ["dnn", "dnn"], [""], {}, {"a": 1},
          {"dnn": {"dropout": 7}}, ["a", ["b"]]]


def _toml(value) -> str:
    """A TOML value (inline tables for dicts); big ints stay as written (TOML rejects them: a case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else repr(value))
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"


SUITE_BASE = {"models": ["logreg", "dnn"], "datasets": ["wisconsin"], "profile": "quick", "seeds": [0, 1],
              "training": {"epochs": 2, "learning_rate": 0.001}, "data": {"val_fraction": 0.15},
              "hparams": {"dnn": {"dropout": 0.3}}, "recipes": {"dnn": {"label_smoothing": 0.1}},
              "tuned": {"dnn|wisconsin": {"hparams": {"dropout": 0.2}, "learning_rate": 0.002}},
              "execution": {"workers": 1}}
SUITE_PATHS = [("models",), ("datasets",), ("profile",), ("seeds",), ("training", "epochs"),
               ("training", "learning_rate"), ("training", "scaling"), ("training", "strategy"),
               ("data", "val_fraction"), ("data", "test_fraction"), ("data", "sep"), ("data", "data_dir"),
               ("hparams", "dnn", "dropout"), ("hparams", "dnn", "bogus"), ("hparams", "nosuch"),
               ("recipes", "dnn", "schedule"), ("tuned", "dnn|wisconsin", "learning_rate"),
               ("tuned", "dnn|wisconsin", "hparams"), ("tuned", "nokey"), ("execution", "workers"),
               ("execution", "run_timeout"), ("federated",), ("plugins",), ("explain",), ("threads",),
               ("bogus_key",)]


def _mutate(doc: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        nxt = doc.get(key)
        if not isinstance(nxt, dict):
            nxt = doc[key] = {}
        doc = nxt
    doc[path[-1]] = value


def _suite_case(rng: random.Random, k: int) -> Path:
    doc = json.loads(json.dumps(SUITE_BASE))
    for _ in range(rng.choice([1, 1, 2, 3])):
        path = rng.choice(SUITE_PATHS)
        strategy = rng.choice(["fedadam", "fedprox", "fedavg", "central", "x"])
        option = rng.choice(["server_lr", "proximal_mu", "clients", "rounds"])
        value = rng.choice(VALUES) if path != ("federated",) else [{"strategy": strategy,
                                                                     option: rng.choice(VALUES)}]
        _mutate(doc, path, value)
    if rng.random() < 0.1:
        doc = {}
    text = "\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in doc.items()) + "\n"
    form = rng.choice(["plain"] * 8 + ["utf16", "latin1", "truncate", "deep"])
    data = text.encode()
    if form == "utf16":
        data = text.encode("utf-16")
    elif form == "latin1":
        data = text.replace("wisconsin", "wisconsin-é").encode("latin-1")
    elif form == "truncate":
        data = data[: rng.randrange(0, len(data))]
    elif form == "deep":
        data = ("x = " + "[" * 5000 + "]" * 5000 + "\n").encode()
    path = Path(f"suite{k}.toml")
    path.write_bytes(data)
    return path


def _check_suite(path: Path) -> None:
    from benchmarks.config import check_models
    from benchmarks.config.suite import check_selection, read_suite
    from benchmarks.execution.runner import plan_pairs

    s = check_selection(read_suite(path), source=str(path))
    check_models(s.config)
    plan_pairs(list(s.models) or None, list(s.datasets) or None, s.data)


TUNED_BASE = {"format": 1, "meta": {}, "pairs": {"dnn|wisconsin": {
    "hparams": {"dropout": 0.3, "hidden_units": [64]}, "recipe": {"label_smoothing": 0.1},
    "learning_rate": 0.001, "best_value": 0.2}}}
TUNED_PATHS = [("format",), ("pairs",), ("pairs", "dnn|wisconsin"), ("pairs", "dnn|wisconsin", "hparams"),
               ("pairs", "dnn|wisconsin", "hparams", "dropout"), ("pairs", "dnn|wisconsin", "hparams", "x"),
               ("pairs", "dnn|wisconsin", "hparams", "hidden_units"), ("pairs", "dnn|wisconsin", "recipe"),
               ("pairs", "dnn|wisconsin", "recipe", "schedule"), ("pairs", "dnn|wisconsin", "learning_rate"),
               ("pairs", "dnn|wisconsin", "source"), ("pairs", "nosuch|wisconsin"), ("pairs", "nopipe"),
               ("pairs", "logreg|wisconsin", "hparams", "C"), ("pairs", "dnn|wisconsin", "bogus")]


def _tuned_case(rng: random.Random, k: int) -> Path:
    doc = json.loads(json.dumps(TUNED_BASE))
    for _ in range(rng.choice([1, 1, 2])):
        _mutate(doc, rng.choice(TUNED_PATHS), rng.choice(VALUES))
    text = json.dumps(doc)
    form = rng.choice(["plain"] * 8 + ["truncate", "list", "deep"])
    if form == "truncate":
        text = text[: rng.randrange(0, len(text))]
    elif form == "list":
        text = "[1, 2]"
    elif form == "deep":
        text = "[" * 50_000 + "]" * 50_000
    path = Path(f"tuned{k}.json")
    path.write_text(text)
    return path


def _check_tuned(path: Path) -> None:
    from benchmarks.config import RunConfig, check_models, validate
    from benchmarks.execution.tune import load_tuned

    check_models(validate(RunConfig(tuned=load_tuned(path))))


RECORD_FIELDS = ["accuracy", "f1_macro", "roc_auc", "balanced_accuracy", "train_time_s", "latency_ms_p50",
                 "train_samples_per_s", "environment", "data", "hparams", "model", "dataset", "key", "seed",
                 "status", "schema_version"]


def _results_case(rng: random.Random, k: int, base: dict) -> Path:
    doc = json.loads(json.dumps(base))
    for _ in range(rng.choice([1, 1, 2, 3])):
        m = rng.choice(["field"] * 6 + ["drop", "duplicate", "records", "meta", "version"])
        recs = [r for r in doc["records"] if isinstance(r, dict)] if isinstance(doc["records"], list) else []
        if m == "field" and recs:
            rng.choice(recs)[rng.choice(RECORD_FIELDS)] = rng.choice(VALUES)
        elif m == "drop" and recs:
            rng.choice(recs).pop(rng.choice(RECORD_FIELDS), None)
        elif m == "duplicate" and recs:
            recs.append(dict(rng.choice(recs)))
        elif m == "records":
            doc["records"] = rng.choice(VALUES)
        elif m == "meta":
            doc["meta"] = rng.choice(VALUES)
        elif m == "version":
            doc["schema_version"] = rng.choice(VALUES)
    text = json.dumps(doc)
    if rng.random() < 0.1:
        text = text[: rng.randrange(0, len(text))]
    path = Path(f"results{k}.json")
    path.write_text(text)
    return path


def _check_results(path: Path, base: Path) -> None:
    import math

    from benchmarks.compare import Thresholds, compare_records
    from benchmarks.records.baseline import load_side
    from benchmarks.records.tables import comparison_table

    cur = load_side(path)
    rows = compare_records(load_side(base).records, cur.records, Thresholds.load(None)).rows
    for row in rows:
        for v in (row.baseline, row.current, row.delta):
            assert v is None or math.isfinite(v), (path, row)
    comparison_table(cur.records)


PLUGIN_HEAD = "import sys\nimport numpy as np\nfrom models.registry import register_model\n" \
              "from datasets.registry import register_dataset\n"
PLUGIN_PARTS = {
    "good_keras": "@register_model('fz_k{k}', modalities=('tabular',))\n"
                  "def build(input_shape, num_classes, *, units: int = 4):\n"
                  "    import keras\n    from models.heads import classifier_output\n"
                  "    i = keras.Input(input_shape)\n"
                  "    return keras.Model(i, classifier_output(i, num_classes))\n",
    "good_sklearn": "@register_model('fz_s{k}', modalities=('tabular',), framework='sklearn')\n"
                    "def build(input_shape, num_classes, *, c: float = 1.0):\n"
                    "    from sklearn.linear_model import LogisticRegression\n"
                    "    return LogisticRegression(C=c)\n",
    "returns_none": "@register_model('fz_n{k}', modalities=('tabular',))\n"
                    "def build(input_shape, num_classes):\n    return None\n",
    "returns_list": "@register_model('fz_l{k}', modalities=('tabular',), framework='sklearn')\n"
                    "def build(input_shape, num_classes):\n    return [1, 2]\n",
    "bad_head": "@register_model('fz_h{k}', modalities=('tabular',))\n"
                "def build(input_shape, num_classes):\n    import keras\n"
                "    i = keras.Input(input_shape)\n    return keras.Model(i, keras.layers.Dense(9)(i))\n",
    "duplicate": "@register_model('dnn', modalities=('tabular',))\n"
                 "def build(input_shape, num_classes):\n    return None\n",
    "varargs": "@register_model('fz_v{k}', modalities=('tabular',))\n"
               "def build(input_shape, num_classes, *args):\n    return None\n",
    "no_default": "@register_model('fz_d{k}', modalities=('tabular',))\n"
                  "def build(input_shape, num_classes, *, units):\n    return None\n",
    "bad_modality": "@register_model('fz_m{k}', modalities=('sound',))\n"
                    "def build(input_shape, num_classes):\n    return None\n",
    "syntax": "def broken(:\n",
    "raises": "raise RuntimeError('plugin failed on import')\n",
    "exit0": "sys.exit(0)\n",
    "exit3": "sys.exit(3)\n",
    "missing_import": "import no_such_module_fz\n",
    "loader_none": "from benchmarks.core.modalities import TABULAR\nfrom datasets.base import Provenance\n"
                   "from datasets.spec import SeededSplit\n"
                   "@register_dataset('fz_data{k}', modality=TABULAR, classes=('a', 'b'), size='1', "
                   "split=SeededSplit(), provenance=Provenance('t', 'CC0'))\n"
                   "def load(options):\n    return None\n",
}


def _plugin_case(rng: random.Random, k: int) -> Path:
    parts = rng.sample(sorted(PLUGIN_PARTS), rng.choice([1, 1, 2]))
    body = PLUGIN_HEAD + "\n\n".join(PLUGIN_PARTS[p].format(k=k) for p in parts)
    path = Path(f"plugin{k}.py") if rng.random() > 0.1 else Path(f"plugin{k}_folder")
    if path.suffix == ".py":
        path.write_text(body)
    else:
        path.mkdir()
    return path


def _check_plugin(path: Path) -> None:
    from benchmarks.core.plugins import import_plugin
    from datasets import registry as dreg
    from models import registry as mreg

    before_m, before_d = set(mreg._REGISTRY), set(dreg._REGISTRY)
    import_plugin(str(path))
    for name in sorted(set(mreg._REGISTRY) - before_m):
        mreg.get_model(name).create((4,), 3, {}, seed=0)
    for name in sorted(set(dreg._REGISTRY) - before_d):
        dreg.get_dataset(name).load()


@pytest.fixture(scope="module")
def base_results(tmp_path_factory) -> dict:
    """A real results.json (logreg on Wisconsin, three seeds) to tamper with."""
    from benchmarks.cli import main

    out = tmp_path_factory.mktemp("fuzz-base") / "run"
    assert main(["run", "--model", "logreg", "--dataset", "wisconsin", "--profile", "quick", "--seeds",
                 "0,1,2", "--output", str(out)]) == 0
    return json.loads((out / "results.json").read_text())


def test_fuzz_suite_tuned_results_and_plugin_files(base_results, tmp_path, monkeypatch):
    """Files that configure or describe a run: exit 0 (valid; finite compare numbers) or exit 2 in
    one short line; no traceback."""
    from benchmarks.core import plugins
    from datasets import registry as dreg
    from models import registry as mreg

    mreg.list_models(), dreg.list_datasets()
    monkeypatch.setattr(mreg, "_REGISTRY", dict(mreg._REGISTRY))
    monkeypatch.setattr(dreg, "_REGISTRY", dict(dreg._REGISTRY))
    monkeypatch.setattr(plugins, "_loaded", {})
    monkeypatch.chdir(tmp_path)
    base = Path("base.json")
    base.write_text(json.dumps(base_results))
    rng = random.Random(SEED + 27)
    jobs: list[tuple[str, Path, Callable]] = []
    jobs += [("suite", _suite_case(rng, k), _check_suite) for k in range(N_SUITES)]
    jobs += [("tuned", _tuned_case(rng, k), _check_tuned) for k in range(N_TUNED)]
    jobs += [("results", _results_case(rng, k, base_results), lambda p: _check_results(p, base))
             for k in range(N_RESULTS)]
    jobs += [("plugin", _plugin_case(rng, k), _check_plugin) for k in range(N_PLUGINS)]
    codes: dict[str, list[int]] = {}
    for kind, path, check in jobs:
        case = Case(f"{kind} {path}", str(path), LoadOptions())
        try:
            check(path)
            codes.setdefault(kind, []).append(0)
        except OncobenchError as exc:
            assert exc.exit_code == 2
            _assert_one_line(str(exc), case)
            codes.setdefault(kind, []).append(2)
        except Exception as exc:  # noqa: BLE001 - the point: name the case that tracebacks
            raise AssertionError(f"{case.what}: {type(exc).__name__}: {exc}"[:2000]) from exc
    for kind, got in codes.items():  # each kind exercises both outcomes
        assert 0 in got and 2 in got, (kind, got)
    assert N_CASES + sum(map(len, codes.values())) >= 400
