"""Issue 29: multi-block datasets (``multi:``, ``breast_tcga``), fusion models, modality
ablation and per-block attribution, on generated paired data."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest_data import serve
from make_multiomics import make_blocks, write_multi
from spec_override import override_spec

from benchmarks.cli import main
from benchmarks.core.errors import OncobenchError
from datasets.base import LoadOptions
from datasets.multiblock import MASK_INPUT, block_inputs, is_multiblock
from datasets.registry import get_dataset
from datasets.spec import OfficialSplit

SIZES = {"mrna": 8, "meth": 6, "clinical": 6}


def _load(spec: str, **options) -> object:
    return get_dataset(spec).load(LoadOptions(**options))


def test_multi_joins_blocks_with_mask_and_encodes_clinical(tmp_path, capsys):
    spec = write_multi(tmp_path, 90, SIZES, "mrna", missing=6)
    ds = _load(spec)
    assert "samples miss some blocks (missing: meth 6, clinical 6)" in capsys.readouterr().err
    assert is_multiblock(ds) and ds.modality == "multiomics"
    assert len(ds.train) + len(ds.val) + len(ds.test) == 90
    shapes = ds.block_shapes
    assert shapes["mrna"] == (8,) and shapes["meth"] == (6,)
    clinical = ds.blocks[2]
    assert clinical.kind == "clinical" and any("=" in f for f in clinical.feature_names)  # one-hot text
    m = np.concatenate([ds.train.mask, ds.val.mask, ds.test.mask])
    assert m[:, 0].all() and (~m[:, 1]).sum() == 6 and (~m[:, 2]).sum() == 6
    # per block, fitted on the training rows that have it: those are standardised; absent rows are 0
    meth = ds.train.x[:, ds.blocks[1].start:ds.blocks[1].stop]
    has = ds.train.mask[:, 1]
    assert np.allclose(meth[has].mean(axis=0), 0, atol=1e-5) and not meth[~has].any()
    assert np.isfinite(ds.train.x).all()
    inputs = block_inputs(ds.blocks, ds.test.x, ds.test.mask)
    assert set(inputs) == {"mrna", "meth", "clinical", MASK_INPUT}
    complete = _load(spec, complete_cases=True)
    lost = int((~m.all(axis=1)).sum())
    assert len(complete.train) + len(complete.val) + len(complete.test) == 90 - lost
    assert complete.info["dropped_incomplete_samples"] == lost
    assert complete.train.mask.all() and complete.test.mask.all()
    folds = [_load(spec, cv_folds=3, fold=k) for k in range(3)]
    assert sum(len(f.test) for f in folds) == 90 and folds[0].fold == 0


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.fixture
def good(tmp_path):
    blocks, labels = make_blocks(30, {"a": 4, "b": 4}, "a")
    for b, df in blocks.items():
        df.to_csv(tmp_path / f"{b}.csv", index_label="id")
    labels.to_csv(tmp_path / "y.csv", index_label="id")
    return tmp_path, blocks, labels


def _spec(folder: Path, a: str = "a.csv", b: str = "b.csv", y: str = "y.csv:target") -> str:
    return f"multi:a={folder / a},b={folder / b};labels={folder / y}"


def _fails(spec: str, **options) -> str:
    with pytest.raises(OncobenchError) as info:
        _load(spec, **options)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 300, msg
    return msg


def test_multi_bad_input_is_one_line(good):
    folder, blocks, labels = good
    other = blocks["b"].copy()
    other.index = [f"X{i}" for i in range(len(other))]
    other.to_csv(folder / "other.csv", index_label="id")
    msg = _fails(_spec(folder, b="other.csv"))
    assert "other.csv: none of its 30 sample IDs" in msg and "first column of every file" in msg
    dup = blocks["b"].copy()
    dup.index = [dup.index[0], *dup.index[:-1]]
    dup.to_csv(folder / "dup.csv", index_label="id")
    msg = _fails(_spec(folder, b="dup.csv"))
    assert "dup.csv: duplicate sample IDs 'P0000'" in msg or "dup.csv: duplicate sample IDs P0000" in msg
    one = blocks["b"].copy()
    one.iloc[:, 1:] = 1.0  # constant columns dropped: one feature left
    one.to_csv(folder / "one.csv", index_label="id")
    msg = _fails(_spec(folder, b="one.csv"))
    assert "block 'b' has 1 usable feature(s)" in msg and "merge it into another block" in msg
    labels.iloc[:25].to_csv(folder / "few.csv", index_label="id")
    msg = _fails(_spec(folder, y="few.csv:target"))
    assert "few.csv: no label for 5 samples" in msg and "add their labels" in msg
    text = blocks["b"].astype(object)
    text.iloc[3, 2] = "high"
    text.to_csv(folder / "text.csv", index_label="id")
    msg = _fails(_spec(folder, b="text.csv"))
    assert "text.csv: column 'b_2' is not numeric (e.g. 'high'" in msg and "clinical" in msg
    msg = _fails(_spec(folder, y="y.csv:stage"))
    assert "y.csv: no column 'stage'" in msg
    with pytest.raises(OncobenchError, match="is not NAME=FILE"):
        get_dataset(f"multi:{folder / 'a.csv'};labels={folder / 'y.csv'}")


def test_multi_bad_input_exits_2_with_one_line(good, tmp_path, capsys):
    folder, blocks, _ = good
    dup = blocks["b"].copy()
    dup.index = [dup.index[0], *dup.index[:-1]]
    dup.to_csv(folder / "dup.csv", index_label="id")
    rc = main(["run", "--model", "logreg", "--profile", "quick", "--dataset", _spec(folder, b="dup.csv"),
               "--output", str(tmp_path / "out")])
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("error")]
    assert rc == 2 and len(err) == 1 and "dup.csv: duplicate sample IDs" in err[0]


@pytest.mark.parametrize("name", ["early_fusion", "late_fusion", "intermediate_fusion"])
def test_fusion_models_predict_with_any_subset_of_blocks(name):
    from models.registry import get_model

    shapes = {"a": (5,), "b": (3,), "c": (4,)}
    spec = get_model(name)
    model = spec.create(shapes, 3, spec.hparams(), seed=0)
    rng = np.random.default_rng(0)
    x = {b: rng.normal(size=(6, s[0])).astype("float32") for b, s in shapes.items()}
    for mask in ([1, 1, 1], [1, 0, 0], [0, 1, 1], [0, 0, 1]):
        m = np.tile(np.array(mask, "float32"), (6, 1))
        p = np.asarray(model({**x, MASK_INPUT: m}, training=False))
        assert p.shape == (6, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-4)
    # modality dropout: never every block of a sample
    drop = model.get_layer("modality_dropout")
    drop.rate = 0.9
    out = np.asarray(drop(np.ones((500, 3), "float32"), training=True))
    assert out.sum(axis=1).min() >= 1 and out.sum() < 500 * 3


def test_planted_block_is_found_by_fusion_ablation_and_attribution(tmp_path):
    """Signal only in ``meth``: fusion learns it, removing meth at test hurts most, and the
    per-block attribution mass is mostly on meth."""
    spec = write_multi(tmp_path / "data", 150, {"mrna": 12, "meth": 12, "mirna": 12}, "meth", effect=2.0)
    out = tmp_path / "run"
    rc = main(["run", "--model", "intermediate_fusion,logreg", "--dataset", spec, "--profile", "quick",
               "--epochs", "40", "--seeds", "0", "--explain", "--output", str(out)])
    assert rc == 0
    records = json.loads((out / "results.json").read_text())
    records = records["records"] if isinstance(records, dict) else records
    for r in records:
        assert r["status"] == "ok", r.get("error")
        assert r["accuracy"] >= 0.85, (r["model"], r["accuracy"])
        drops = {b: v["drop"] for b, v in r["block_ablation"]["without"].items()}
        assert max(drops, key=drops.get) == "meth", (r["model"], drops)
        assert drops["meth"] > 0.3
        assert r["data"]["blocks_test"] == ["mrna", "meth", "mirna"]
        method = r["explanations"]["primary"]
        mass = r["explanations"]["methods"][method]["block_mass"]
        assert max(mass, key=mass.get) == "meth" and mass["meth"] > 0.5, (r["model"], mass)


def _rda(path: Path, n_train: int = 30, n_test: int = 12) -> Path:
    """A small file shaped like mixOmics' breast.TCGA (protein absent at test)."""
    rdata = pytest.importorskip("rdata")
    import pandas as pd

    rng = np.random.default_rng(1)

    def part(n: int, protein: bool) -> dict:
        y = np.arange(n) % 3
        out = {}
        for b, p in (("mirna", 6), ("mrna", 7), ("protein", 5))[: 3 if protein else 2]:
            x = rng.normal(size=(n, p))
            x[:, 0] += 3 * y
            out[b] = pd.DataFrame(x, columns=[f"{b}{j}" for j in range(p)])
        out["subtype"] = pd.Categorical([("Basal", "Her2", "LumA")[c] for c in y])
        return out

    path.parent.mkdir(parents=True, exist_ok=True)
    obj = {"breast.TCGA": {"data.train": part(n_train, True), "data.test": part(n_test, False)}}
    rdata.write_rda(path, obj, compression="xz")
    return path


def test_breast_tcga_downloads_converts_and_subsets(tmp_path, monkeypatch, capsys):
    spec = get_dataset("breast_tcga")
    assert spec.remotes[0].url.startswith("https://raw.githubusercontent.com/mixOmicsTeam/mixOmics/6e148b5")
    assert spec.published[0].accuracy == 0.929 and not spec.bundled
    rda = _rda(tmp_path / "www" / "breast.TCGA.rda")
    root = tmp_path / "data"
    split = OfficialSplit(train=30, test=12)
    with serve(rda.parent) as base:
        override_spec(monkeypatch, "breast_tcga", url=f"{base}/{rda.name}", digest_of=rda, split=split)
        assert main(["download", "breast_tcga", "--data-dir", str(root)]) == 0
    assert (root / "breast_tcga" / "cache" / "blocks.npz").is_file()
    ds = get_dataset("breast_tcga").load(LoadOptions(data_dir=root))  # from the cache: server gone
    assert ds.info["blocks_train"] == ["mrna", "mirna", "protein"]
    assert ds.info["blocks_test"] == ["mrna", "mirna"] and not ds.test.mask[:, 2].any()
    assert len(ds.test) == 12 and len(ds.train) + len(ds.val) == 30
    one = get_dataset("breast_tcga:mrna").load(LoadOptions(data_dir=root))
    assert one.name == "breast_tcga:mrna" and one.input_shape == (7,) and one.block_names == ["mrna"]
    with pytest.raises(OncobenchError, match="unknown block 'rna'; valid: mrna, mirna, protein"):
        get_dataset("breast_tcga:rna")
    with pytest.raises(OncobenchError, match="protein is absent from the test split"):
        get_dataset("breast_tcga:protein")
    assert replace(ds.provenance).files == {"breast.TCGA.rda": get_dataset("breast_tcga").remotes[0].digest}
