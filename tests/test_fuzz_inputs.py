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
