"""Bring-your-own data: csv:/npz:/folder: datasets load, split, and name their file + sha256;
a user's expression CSV runs through dnn, logreg and random_forest in one command."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest_data import (
    expression_frame,
    medmnist_arrays,
    write_expression_csv,
    write_image_folder,
    write_npz,
)

from benchmarks.core.errors import OncobenchError
from benchmarks.core.hashing import file_digest
from datasets.base import LoadOptions
from datasets.registry import get_dataset

CSV = LoadOptions(label_column="diagnosis", id_column="sample_id")
GENES_AS_ROWS = LoadOptions(label_column="diagnosis", transpose=True)


def test_csv_samples_as_rows(tmp_path):
    path = write_expression_csv(tmp_path / "expr.csv")
    spec = get_dataset(f"csv:{path}")
    assert spec.modality == "expression" and spec.name == f"csv:{path}"
    ds = spec.load(CSV)
    assert ds.name == f"csv:{path}" and ds.modality == "expression"
    assert ds.class_names == ["normal", "tumour A", "tumour B"]
    assert len(ds.train) + len(ds.val) + len(ds.test) == 60
    assert ds.input_shape == (29,) and ds.info["dropped_constant_features"] == 1  # GENE29 is all zero
    sha = file_digest(path)
    assert ds.provenance.files == {"expr.csv": sha}
    summary = ds.summary()
    assert summary["sha256"] == sha and summary["file"] == str(path.resolve())
    assert summary["imputed_values"] == 0


def test_csv_genes_as_rows_matches_samples_as_rows(tmp_path):
    rows = get_dataset(f"csv:{write_expression_csv(tmp_path / 'a.csv')}").load(CSV)
    by_gene = write_expression_csv(tmp_path / "b.csv", genes_as_rows=True)
    genes = get_dataset(f"csv:{by_gene}").load(GENES_AS_ROWS)
    assert genes.info["layout"] == "genes as rows (--transpose)"
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(rows, split).x, getattr(genes, split).x)
        np.testing.assert_array_equal(getattr(rows, split).y, getattr(genes, split).y)


def test_csv_unnamed_index_column_is_taken_as_ids_and_tab_separator(tmp_path):
    df, labels = expression_frame(30, 5)
    df.insert(0, "label", labels)
    path = tmp_path / "expr.tsv"
    df.to_csv(path, sep="\t")  # first column: unnamed pandas index of patient ids
    ds = get_dataset(f"csv:{path}").load(LoadOptions(label_column="label", sep="\\t"))
    assert ds.input_shape == (4,)  # 5 genes, one constant; no id column among the features


def test_csv_cross_validation_and_top_k(tmp_path):
    path = write_expression_csv(tmp_path / "expr.csv")
    options = replace(CSV, cv_folds=3, top_k_genes=5)
    sizes = []
    for fold in range(3):
        ds = get_dataset(f"csv:{path}").load(replace(options, fold=fold))
        assert ds.fold == fold and ds.input_shape == (5,)
        sizes.append(len(ds.test))
    assert sum(sizes) == 60


def test_csv_nan_cells_are_imputed_and_counted(tmp_path):
    path = write_expression_csv(tmp_path / "expr.csv")
    text = path.read_text().splitlines()
    cells = text[5].split(",")
    cells[4] = ""  # an empty cell
    text[5] = ",".join(cells)
    cells = text[9].split(",")
    cells[6] = "NA"
    text[9] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    ds = get_dataset(f"csv:{path}").load(CSV)
    assert ds.info["imputed_values"] == 2 and ds.info["impute"] == "median"
    assert np.isfinite(ds.train.x).all() and np.isfinite(ds.test.x).all()


def test_npz_grayscale_and_rgb_official_split(tmp_path):
    gray = write_npz(tmp_path / "g.npz", medmnist_arrays(classes=3, channels=1))
    arrays = medmnist_arrays(classes=2, channels=3, size=16)
    arrays["class_names"] = np.array(["benign", "malignant"])
    rgb = write_npz(tmp_path / "c.npz", arrays)
    g = get_dataset(f"npz:{gray}").load(LoadOptions())
    c = get_dataset(f"npz:{rgb}").load(LoadOptions(image_size=32))
    assert g.modality == "image" and g.input_shape == (28, 28, 1) and g.class_names == ["0", "1", "2"]
    assert (len(g.train), len(g.val), len(g.test)) == (40, 14, 14)
    assert c.input_shape == (32, 32, 3) and c.class_names == ["benign", "malignant"]
    assert 0.0 <= g.train.floats().min() and g.train.floats().max() <= 1.0
    assert g.provenance.files == {"g.npz": file_digest(gray)}
    with pytest.raises(OncobenchError, match="official split; --cv applies to"):
        get_dataset(f"npz:{gray}").load(LoadOptions(cv_folds=3))


def test_folder_of_images_stratified_and_resized(tmp_path):
    root = write_image_folder(tmp_path / "imgs", {"benign": 10, "malignant": 12})
    write_image_folder(tmp_path / "imgs", {"normal": 8}, mode="L", suffix=".jpg")
    (tmp_path / "imgs" / "benign" / "notes.txt").write_text("not an image")
    ds = get_dataset(f"folder:{root}").load(LoadOptions(image_size=16, seed=3))
    assert ds.class_names == ["benign", "malignant", "normal"]
    assert ds.input_shape == (16, 16, 3) and ds.info["n_images"] == 30 and ds.info["color"] == "RGB"
    assert set(ds.test.y) == {0, 1, 2}
    again = get_dataset(f"folder:{root}").load(LoadOptions(image_size=16, seed=3))
    np.testing.assert_array_equal(ds.test.x, again.test.x)
    assert ds.summary()["sha256"] == again.summary()["sha256"]


def test_csv_runs_dnn_logreg_random_forest_in_one_command(tmp_path, capsys):
    from benchmarks.cli import main

    path = write_expression_csv(tmp_path / "genes_by_samples.csv", genes_as_rows=True)
    out = tmp_path / "run"
    rc = main(["run", "--model", "dnn,logreg,random_forest", "--dataset", f"csv:{path}", "--transpose",
               "--label-column", "diagnosis", "--profile", "quick", "--hp", "random_forest.n_estimators=20",
               "--output", str(out)])
    assert rc == 0, capsys.readouterr().err
    records = json.loads((out / "results.json").read_text())["records"]
    assert sorted(r["model"] for r in records) == ["dnn", "logreg", "random_forest"]
    sha = file_digest(path)
    for r in records:
        assert r["status"] == "ok" and r["dataset"] == f"csv:{path}"
        assert r["data"]["files"] == {"genes_by_samples.csv": sha} and r["data"]["sha256"] == sha
        assert 0.0 <= r["accuracy"] <= 1.0


def test_folder_grayscale_with_cross_validation(tmp_path):
    root = write_image_folder(tmp_path / "gray", {"a": 6, "b": 6}, size=(12, 12), mode="L")
    tests = []
    for fold in range(3):
        ds = get_dataset(f"folder:{root}").load(LoadOptions(cv_folds=3, fold=fold))
        assert ds.input_shape == (12, 12, 1) and ds.info["color"] == "L" and ds.fold == fold
        assert len(ds.train) + len(ds.val) + len(ds.test) == 12
        tests.append(len(ds.test))
    assert sum(tests) == 12
