"""Bundled datasets: shapes, official split sizes, label counts, checksum failures, train-only fitting."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from benchmarks.core.errors import ChecksumError, OncobenchError
from datasets import LoadOptions, get_dataset, list_datasets
from datasets.preprocess import TabularPreprocessor


def test_registry_lists_bundled_sets():
    names = {d.name for d in list_datasets()}
    assert {"breastmnist", "breastmnist_64", "golub", "wisconsin"} <= names
    with pytest.raises(OncobenchError, match="unknown dataset 'nope'; valid datasets: .*golub"):
        get_dataset("nope")


@pytest.mark.parametrize("name,size", [("breastmnist", 28), ("breastmnist_64", 64)])
def test_breastmnist_official_split(name, size):
    ds = get_dataset(name).load()
    assert (len(ds.train), len(ds.val), len(ds.test)) == (546, 78, 156)
    assert ds.input_shape == (size, size, 1) and ds.modality == "image"
    x = ds.train.floats()  # stored uint8, float32 per batch (issue 17)
    assert ds.train.x.dtype == np.uint8 and ds.train.scale == 255.0
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    # published facts: test = 42 malignant (0), 114 normal/benign (1)
    assert np.bincount(ds.test.y).tolist() == [42, 114]
    assert ds.class_names == ["malignant", "normal, benign"]
    assert len(ds.provenance.files[f"{name}.npz"]) == 64


def test_golub_official_38_34_split_and_train_only_scaling():
    ds = get_dataset("golub").load(LoadOptions(seed=0))
    assert len(ds.train) + len(ds.val) == 38 and len(ds.test) == 34
    # probes clipped to the floor (20) in every training sample are constant: dropped
    assert ds.info["n_features_in"] == 7129 and ds.info["dropped_constant_features"] > 0
    assert ds.input_shape == (7129 - ds.info["dropped_constant_features"],)
    # 47 ALL / 25 AML overall; independent set: 20 ALL, 14 AML
    assert np.bincount(ds.test.y).tolist() == [20, 14]
    total = np.bincount(np.concatenate([ds.train.y, ds.val.y, ds.test.y])).tolist()
    assert total == [47, 25]
    assert set(ds.val.y) == {0, 1}  # stratified
    # standardised with training statistics: train mean ~0 / std ~1, test not exactly
    np.testing.assert_allclose(ds.train.x.mean(axis=0), 0, atol=1e-4)
    assert abs(float(ds.test.x.mean())) > 1e-3
    other = get_dataset("golub").load(LoadOptions(seed=1))
    assert not np.array_equal(ds.val.y, other.val.y) or not np.array_equal(ds.train.x, other.train.x)


def test_golub_top_k_genes_fitted_on_train():
    ds = get_dataset("golub").load(LoadOptions(seed=0, top_k_genes=500))
    assert ds.input_shape == (500,) and ds.info["n_features"] == 500


def test_wisconsin_stratified_seeded_split():
    a = get_dataset("wisconsin").load(LoadOptions(seed=0))
    b = get_dataset("wisconsin").load(LoadOptions(seed=0))
    c = get_dataset("wisconsin").load(LoadOptions(seed=1))
    assert len(a.train) + len(a.val) + len(a.test) == 569
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.x, c.train.x)
    ratio = lambda y: float(np.mean(y))  # noqa: E731
    assert abs(ratio(a.test.y) - 357 / 569) < 0.02


def test_checksum_mismatch_is_reported(tmp_path, monkeypatch):
    import datasets.medmnist as mm

    bad = tmp_path / "breastmnist.npz"
    shutil.copy(mm.DATA_DIR / "breastmnist.npz", bad)
    with open(bad, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00corrupt\x00")
    monkeypatch.setattr(mm, "DATA_DIR", tmp_path)
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        get_dataset("breastmnist").load()


def test_preprocessor_statistics_come_from_train_only():
    train = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, 2.0], [5.0, 5.0, 4.0]])
    test = np.array([[100.0, 7.0, np.nan]])
    prep = TabularPreprocessor(impute="median").fit(train)
    assert prep.info["dropped_constant_features"] == 1  # column 2 is constant in train
    out = prep.transform(test, "test")
    # column 0: mean 3, std sqrt(8/3) from train; NaN imputed with the train median (3.0)
    np.testing.assert_allclose(out[0, 0], (100 - 3) / np.sqrt(8 / 3), rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], 0.0, atol=1e-6)
    assert prep.info["imputed_train_values"] == 1 and prep.info["imputed_test_values"] == 1


@pytest.mark.parametrize("name", ["golub", "breastmnist"])
def test_cv_is_refused_for_official_splits_at_load(name):
    with pytest.raises(OncobenchError, match=f"'{name}' has an official split; --cv applies to: .*wisconsin"):
        get_dataset(name).load(LoadOptions(cv_folds=5))
    assert get_dataset("wisconsin").load(LoadOptions(cv_folds=5, fold=4)).fold == 4
