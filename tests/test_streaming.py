"""Issue 17: images stay uint8 until the batch, large npz files are read by rows from a .npy
cache, the input pipeline gathers batches by index, baselines refuse what does not fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.core.errors import DataError
from datasets import arraycache, medmnist
from datasets.arraycache import RowReader, unpack_npz
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.preprocess import images_to_float, pixel_scale
from datasets.registry import get_dataset


def _npz(path: Path, n: int = 60, size: int = 8, ch: int = 3, dtype=np.uint8, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    top = 255 if dtype == np.uint8 else 65535
    arrays = {}
    for s, m in (("train", n), ("val", n // 3), ("test", n // 3)):
        arrays[f"{s}_images"] = rng.integers(0, top + 1, size=(m, size, size, ch)).astype(dtype)
        arrays[f"{s}_labels"] = (np.arange(m) % 2).reshape(-1, 1)
    np.savez_compressed(path, **arrays)
    return arrays


@pytest.fixture
def small_cache(monkeypatch):
    """Every npz counts as large: read through the .npy cache."""
    monkeypatch.setattr(medmnist, "CACHE_MIN_BYTES", 0)


def test_row_reader_reads_what_numpy_reads(tmp_path):
    a = np.arange(7 * 3 * 2, dtype=np.uint16).reshape(7, 3, 2)
    np.save(tmp_path / "a.npy", a)
    r = RowReader(tmp_path / "a.npy")
    assert r.shape == a.shape and r.dtype == a.dtype and len(r) == 7 and r.nbytes == a.nbytes
    for key in ([5, 1, 2, 2, 6], np.array([0, 6, 3]), [-1, 0], slice(2, 5), slice(None, None, 3), 4, -2):
        np.testing.assert_array_equal(r[key], a[key])
    np.testing.assert_array_equal(np.asarray(r), a)
    np.testing.assert_array_equal(r.with_shape((7, 6))[[1, 3]], a.reshape(7, 6)[[1, 3]])
    with pytest.raises(IndexError):
        r[[7]]


def test_scattered_rows_read_in_parallel_match_numpy(tmp_path):
    """Many separate runs of rows go to the I/O thread pool; the result is numpy's, in order."""
    a = np.random.default_rng(0).integers(0, 255, size=(500, 4, 4, 3), dtype=np.uint8)
    np.save(tmp_path / "b.npy", a)
    r = RowReader(tmp_path / "b.npy")
    idx = np.random.default_rng(1).choice(500, 200, replace=True)  # repeats, any order
    assert len(np.unique(idx)) >= 4 * arraycache.IO_MIN_RUNS
    for _ in range(3):
        np.testing.assert_array_equal(r[idx], a[idx])


def test_unpack_once_then_reuse_and_rebuild_on_new_source(tmp_path):
    arrays = _npz(tmp_path / "d.npz")
    folder = tmp_path / "cache"
    files = unpack_npz(tmp_path / "d.npz", "a" * 64, folder, medmnist.KEYS)
    np.testing.assert_array_equal(np.load(files["val_images"]), arrays["val_images"])
    assert json.loads((folder / "manifest.json").read_text())["sha256"] == "a" * 64
    stamp = files["train_images"].stat().st_mtime_ns
    unpack_npz(tmp_path / "d.npz", "a" * 64, folder, medmnist.KEYS)
    assert files["train_images"].stat().st_mtime_ns == stamp  # reused
    arrays = _npz(tmp_path / "d.npz", seed=1)
    files = unpack_npz(tmp_path / "d.npz", "b" * 64, folder, medmnist.KEYS)
    np.testing.assert_array_equal(np.load(files["train_images"]), arrays["train_images"])
    assert not list(folder.glob(".*"))  # no temporary files left behind


def test_large_npz_stays_on_disk_as_uint8(tmp_path, small_cache):
    arrays = _npz(tmp_path / "d.npz")
    ds = get_dataset(f"npz:{tmp_path / 'd.npz'}").load()
    assert isinstance(ds.train.x, RowReader) and ds.train.x.dtype == np.uint8 and ds.train.scale == 255.0
    assert ds.summary()["in_memory"] is False and ds.nbytes == sum(
        arrays[f"{s}_images"].nbytes for s in ("train", "val", "test"))
    np.testing.assert_array_equal(ds.test.floats(), images_to_float(arrays["test_images"]))
    assert (tmp_path / ".d.npz.npy-cache" / "manifest.json").is_file()


def test_large_uncompressed_npz_is_read_in_place(tmp_path, small_cache):
    arrays = _npz(tmp_path / "d.npz")
    np.savez(tmp_path / "s.npz", **arrays)  # stored members: no cache needed
    ds = get_dataset(f"npz:{tmp_path / 's.npz'}").load()
    assert isinstance(ds.val.x, RowReader) and ds.val.x.path == tmp_path / "s.npz" and ds.val.x.start > 0
    np.testing.assert_array_equal(ds.val.x[[3, 1]], arrays["val_images"][[3, 1]])
    np.testing.assert_array_equal(ds.train.y, arrays["train_labels"].reshape(-1))
    assert not (tmp_path / ".s.npz.npy-cache").exists()


def test_small_npz_in_memory_uint8_same_floats(tmp_path):
    arrays = _npz(tmp_path / "d.npz", dtype=np.uint16)
    ds = get_dataset(f"npz:{tmp_path / 'd.npz'}").load()
    assert isinstance(ds.train.x, np.ndarray) and ds.train.x.dtype == np.uint16 and ds.train.scale == 65535.0
    np.testing.assert_array_equal(ds.train.floats(), images_to_float(arrays["train_images"]))


def test_bundled_breastmnist_keeps_uint8_and_the_same_floats():
    ds = get_dataset("breastmnist").load()
    raw = np.load(medmnist.DATA_DIR / "breastmnist.npz")["train_images"]
    assert ds.train.x.dtype == np.uint8 and ds.input_shape == (28, 28, 1)
    np.testing.assert_array_equal(ds.train.floats(), images_to_float(raw))


def test_pixel_scale_of_rows_on_disk_by_chunks(tmp_path):
    np.save(tmp_path / "f.npy", np.linspace(0, 1, 200, dtype=np.float32).reshape(50, 2, 2))
    assert pixel_scale(RowReader(tmp_path / "f.npy")) == (1.0, 32)
    np.save(tmp_path / "g.npy", np.full((5, 2, 2), 3.5, dtype=np.float32))
    with pytest.raises(DataError, match="outside"):
        pixel_scale(RowReader(tmp_path / "g.npy"))


@pytest.mark.parametrize("budget", [None, 0])
def test_pipeline_gathers_batches_by_index(tmp_path, budget, monkeypatch):
    import tensorflow as tf

    from benchmarks.adapters.keras import make_pipeline, pipeline_caches

    def whole_array(*_a, **_k):
        raise AssertionError("the pipeline must not slice the whole array into a dataset")

    monkeypatch.setattr(tf.data.Dataset, "from_tensor_slices", whole_array)

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(50, 4, 4, 1)).astype(np.uint8)
    y = np.arange(50) % 2
    np.save(tmp_path / "x.npy", x)
    src = x if budget is None else RowReader(tmp_path / "x.npy")
    assert pipeline_caches(src, budget) is (budget is None)
    batches = list(make_pipeline(src, y, 16, shuffle=True, seed=3, scale=255.0, memory_budget=budget))
    xs = np.concatenate([b[0].numpy() for b in batches])
    ys = np.concatenate([b[1].numpy() for b in batches])
    assert [len(b[0]) for b in batches] == [16, 16, 16, 2] and xs.dtype == np.float32
    assert sorted(map(bytes, xs)) == sorted(map(bytes, images_to_float(x)))  # every sample once
    assert not np.array_equal(xs, images_to_float(x))  # shuffled
    np.testing.assert_array_equal(np.sort(ys), np.sort(y))
    # the same permutation whether held in memory or read from disk
    other = list(make_pipeline(x if budget == 0 else RowReader(tmp_path / "x.npy"), y, 16, shuffle=True,
                               seed=3, scale=255.0, memory_budget=None if budget == 0 else 0))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in other]), xs)


def test_predict_batches_reads_one_batch_at_a_time(tmp_path):
    from benchmarks.adapters.keras import predict_batches

    x = np.arange(10 * 2, dtype=np.uint8).reshape(10, 2)
    np.save(tmp_path / "x.npy", x)
    seen = []
    out = predict_batches(lambda b: (seen.append(len(b)), b.sum(axis=1))[1], RowReader(tmp_path / "x.npy"),
                          4, 255.0)
    assert seen == [4, 4, 2]
    np.testing.assert_allclose(out, (x / np.float32(255)).sum(axis=1), rtol=1e-6)


def _image_dataset(n: int, budget: int | None) -> Dataset:
    x = np.zeros((n, 8, 8, 3), np.uint8)
    y = np.arange(n) % 2
    split = Split(x, y, 255.0)
    return Dataset("gen", "image", ["a", "b"], split, split, split, Provenance("gen", "none"),
                   memory_budget=budget)


def test_baselines_refuse_what_does_not_fit_in_one_line():
    from benchmarks.adapters.sklearn import TooLarge, check_fits
    from models.registry import get_model

    spec = get_model("logreg")
    check_fits(spec, _image_dataset(100, None))
    check_fits(spec, _image_dataset(100, 10**9))
    with pytest.raises(TooLarge) as exc:
        check_fits(spec, _image_dataset(100, 1000))
    text = str(exc.value)
    assert "\n" not in text and "100 samples x 192 features" in text and "--cache-memory-gb" in text
    assert exc.value.exit_code == 2


def test_cli_baseline_refusal_exits_2(tmp_path, capsys):
    from benchmarks.cli import main

    _npz(tmp_path / "d.npz")
    code = main(["run", "--model", "logreg", "--dataset", f"npz:{tmp_path / 'd.npz'}", "--profile", "quick",
                 "--cache-memory-gb", "0.00001", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "over the data budget" in err


def test_record_has_memory_fields(tmp_path):
    from benchmarks.config import get_profile
    from benchmarks.execution.harness import run_one
    from benchmarks.metrics.catalogue import METRICS
    from models.registry import get_model

    ds = get_dataset("breastmnist").load(LoadOptions())
    rec = run_one(get_model("logreg"), ds, 0, get_profile("quick"), run_dir=tmp_path)
    pixels = (546 + 78 + 156) * 28 * 28
    assert ds.nbytes == pixels and rec["data_memory_mb"] == round(pixels / 2**20, 1)
    assert rec["peak_rss_data_ratio"] == pytest.approx(rec["peak_rss_mb"] / (pixels / 2**20), rel=0.05)
    assert {"data_memory_mb", "peak_rss_data_ratio", "peak_rss_mb"} <= set(METRICS)
    assert rec["data"]["feature_bytes"] == pixels and rec["data"]["in_memory"] is True


def test_cache_beside_a_read_only_folder_goes_to_the_download_cache(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "d.npz").write_bytes(b"PK")
    ro.chmod(0o555)
    try:
        where = arraycache.cache_dir_for(ro / "d.npz", tmp_path / "dl")
    finally:
        ro.chmod(0o755)
    import os

    if os.geteuid() == 0:  # root writes anywhere
        assert where == ro / ".d.npz.npy-cache"
    else:
        assert where == tmp_path / "dl" / "npy-cache" / "d.npz"


def test_folder_larger_than_the_budget_decodes_per_batch(tmp_path):
    from conftest_data import write_image_folder

    from datasets.custom.folder import LazyImages

    root = write_image_folder(tmp_path / "imgs", {"benign": 8, "malignant": 8})
    eager = get_dataset(f"folder:{root}").load(LoadOptions(seed=1))
    lazy = get_dataset(f"folder:{root}").load(LoadOptions(seed=1, cache_memory_gb=0))
    assert isinstance(lazy.train.x, LazyImages) and isinstance(eager.train.x, np.ndarray)
    assert lazy.info["decoded"].startswith("per batch") and lazy.input_shape == eager.input_shape
    for a, b in ((eager.train, lazy.train), (eager.test, lazy.test)):
        np.testing.assert_array_equal(a.floats(), b.floats())
        np.testing.assert_array_equal(a.x[[2, 0]], b.x[[2, 0]])
        np.testing.assert_array_equal(a.y, b.y)


def test_reader_threads_are_a_quarter_of_the_usable_cores(monkeypatch):
    import os

    from benchmarks.adapters.keras import reader_threads

    for cores, want in ((1, 1), (2, 1), (8, 2), (16, 4)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)), raising=False)
        assert reader_threads() == want
