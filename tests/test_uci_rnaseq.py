"""UCI RNA-Seq: parse once into a float32 cache, stratified split / K-fold CV, gene
selection fitted on the training split only. Uses a small archive in the published layout."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
from make_uci_fixture import TOP, csv_text, expression, make_uci_archive, real_labels, write_archive
from spec_override import override_spec

from benchmarks.core.errors import DataError
from datasets import uci_rnaseq
from datasets.base import LoadOptions
from datasets.preprocess import split_indices
from datasets.registry import get_dataset

N, G = 100, 60  # samples, genes: the first 100 real labels hold every class (COAD: 7)


def _place(root: Path, archive_factory, monkeypatch) -> Path:
    """Put an archive where the loader looks and make its checksum the expected one."""
    path = archive_factory(root / "uci_rnaseq" / uci_rnaseq.REMOTE.filename)
    override_spec(monkeypatch, "uci_rnaseq", url="http://127.0.0.1:9/none", digest_of=path)
    return path


def _digest() -> str:
    """The archive checksum the registered spec expects (the fixture's, once placed)."""
    return get_dataset("uci_rnaseq").remotes[0].digest


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    _place(root, lambda p: make_uci_archive(p, n_samples=N, n_genes=G), monkeypatch)
    return root


def test_archive_has_the_published_layout(root):
    with tarfile.open(root / "uci_rnaseq" / uci_rnaseq.REMOTE.filename) as tar:
        assert set(tar.getnames()) == {TOP, f"{TOP}/data.csv", f"{TOP}/labels.csv"}
        head = tar.extractfile(f"{TOP}/data.csv").readline().decode()
        assert head.startswith(",gene_0,gene_1,") and tar.extractfile(f"{TOP}/labels.csv").read(16) == \
            b",Class\nsample_0,"


def test_parse_once_into_float32_cache(root, monkeypatch):
    options = LoadOptions(data_dir=root)
    spec = get_dataset("uci_rnaseq")
    assert spec.modality == "expression" and not spec.bundled and spec.available(options)
    ds = spec.load(options)
    cache = uci_rnaseq.cache_dir(root)
    x, labels, genes, meta = uci_rnaseq.read_cache(cache, _digest())
    assert x.dtype == np.float32 and x.shape == (N, G) and genes[0] == "gene_0"
    assert labels == real_labels(N)
    want = expression(real_labels(N), G)
    np.testing.assert_allclose(x, want, rtol=1e-6, atol=1e-6)
    assert ds.class_names == ["BRCA", "COAD", "KIRC", "LUAD", "PRAD"]
    assert ds.provenance.files == {uci_rnaseq.REMOTE.filename: _digest()}
    # later loads read the cache: no parsing, and the archive is no longer needed
    monkeypatch.setattr(uci_rnaseq, "parse_archive", lambda *_: pytest.fail("parsed twice"))
    (root / "uci_rnaseq" / uci_rnaseq.REMOTE.filename).unlink()
    assert spec.available(options)
    again = spec.load(options)
    np.testing.assert_array_equal(again.train.x, ds.train.x)


def test_damaged_cache_is_rebuilt_from_the_archive(root):
    options = LoadOptions(data_dir=root)
    first = uci_rnaseq.load(options)
    npy = uci_rnaseq.cache_dir(root) / uci_rnaseq.CACHE_X
    npy.write_bytes(npy.read_bytes()[:100])  # truncated cache
    assert uci_rnaseq.read_cache(npy.parent, _digest()) is None
    np.testing.assert_array_equal(uci_rnaseq.load(options).test.x, first.test.x)


def test_default_split_is_stratified_and_seeded(root):
    a = uci_rnaseq.load(LoadOptions(data_dir=root, seed=0))
    b = uci_rnaseq.load(LoadOptions(data_dir=root, seed=0))
    c = uci_rnaseq.load(LoadOptions(data_dir=root, seed=1))
    assert len(a.train) + len(a.val) + len(a.test) == N
    np.testing.assert_array_equal(a.test.y, b.test.y)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert not np.array_equal(a.test.x, c.test.x)
    full = np.bincount(np.concatenate([a.train.y, a.val.y, a.test.y]), minlength=5) / N
    assert np.abs(np.bincount(a.test.y, minlength=5) / len(a.test) - full).max() < 0.06
    assert a.fold is None


def test_cross_validation_folds_partition_the_samples(root):
    tests = []
    for fold in range(5):
        options = LoadOptions(data_dir=root, cv_folds=5, fold=fold, top_k_genes=10)
        ds = uci_rnaseq.load(options)
        assert ds.fold == fold and ds.info["cv_folds"] == 5 and ds.input_shape == (10,)
        assert len(ds.train) + len(ds.val) + len(ds.test) == N
        assert set(np.unique(ds.test.y)) == set(range(5))  # every class in every test fold
        _, labels, _, _ = uci_rnaseq.read_cache(uci_rnaseq.cache_dir(root), _digest())
        y = np.array([ds.class_names.index(c) for c in labels])
        tr, va, te = split_indices(y, options, ds.class_names, "t")
        np.testing.assert_array_equal(y[te], ds.test.y)
        assert not (set(tr) & set(te)) and not (set(va) & set(te))
        tests.append(te)
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(N))  # each sample once


def test_gene_selection_is_fitted_on_training_split_only(root):
    options = LoadOptions(data_dir=root, top_k_genes=8)
    ds = uci_rnaseq.load(options)
    x, labels, _, _ = uci_rnaseq.read_cache(uci_rnaseq.cache_dir(root), _digest())
    classes = sorted(set(labels))
    y = np.array([classes.index(c) for c in labels])
    train, _, test = split_indices(y, options, classes, "t")
    xt = x[train].astype(np.float64)
    var = xt.var(axis=0)
    top = np.sort(np.argsort(var)[::-1][:8])
    assert ds.input_shape == (8,) and ds.info["top_k_genes"] == 8
    expected = (x[test][:, top] - xt[:, top].mean(axis=0)) / xt[:, top].std(axis=0)
    np.testing.assert_allclose(ds.test.x, expected, rtol=1e-4, atol=1e-4)
    # zero-variance genes counted on the training rows only
    n_const = int((np.ptp(xt, axis=0) == 0).sum())
    assert ds.info["dropped_constant_features"] == n_const > 0


def test_zero_variance_genes_dropped_without_top_k(root):
    ds = uci_rnaseq.load(LoadOptions(data_dir=root))
    assert ds.info["n_features_in"] == G
    assert ds.input_shape == (G - ds.info["dropped_constant_features"],)
    assert np.all(ds.train.x.std(axis=0) > 0)


def test_truncated_archive_with_matching_checksum_is_a_clear_error(tmp_path, monkeypatch):
    root = tmp_path / "data"

    def truncated(path: Path) -> Path:
        make_uci_archive(path, n_samples=N, n_genes=G)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        return path

    _place(root, truncated, monkeypatch)
    with pytest.raises(DataError, match=r"truncated or corrupt archive .*delete it and download it again"):
        uci_rnaseq.load(LoadOptions(data_dir=root))


def test_labels_and_data_disagree(tmp_path, monkeypatch):
    root = tmp_path / "data"
    labels = real_labels(N)
    data, lab = csv_text(expression(labels, G), labels)
    lab = lab.replace(b"sample_3,", b"sample_999,")
    _place(root, lambda p: write_archive(p, data, lab), monkeypatch)
    with pytest.raises(DataError, match="list different samples"):
        uci_rnaseq.load(LoadOptions(data_dir=root))


def test_missing_dataset_is_unavailable_and_says_how_to_get_it(tmp_path):
    spec = get_dataset("uci_rnaseq")
    assert not spec.available(LoadOptions(data_dir=tmp_path))
    assert spec.how_to_get == "python -m benchmarks download uci_rnaseq"
