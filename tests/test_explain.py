"""Explanations (issue 15): attribution methods, IG completeness, faithfulness, the
model-randomisation sanity check, named features through preprocessing, and the commands."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from benchmarks.core.errors import OncobenchError
from benchmarks.explain import Explainable, Samples, get_method, list_methods
from benchmarks.explain.faithfulness import faithfulness
from benchmarks.explain.features import jaccard, signal_to_noise, top_features
from benchmarks.explain.gradients import completeness_error
from benchmarks.explain.sanity import rank_correlation
from datasets.base import Dataset, LoadOptions, Provenance, Split
from datasets.preprocess import TabularPreprocessor, preprocess_splits


def _dataset(x: np.ndarray, y: np.ndarray, modality: str = "expression", names=None) -> Dataset:
    s = Split(x.astype(np.float32), y)
    return Dataset("synthetic", modality, ["a", "b"], s, s, s, Provenance("generated", "none"),
                   feature_names=names)


def _linear_target(w: np.ndarray) -> Explainable:
    """p_1 = sigmoid(x . w): a model whose true attributions are known."""

    def proba(x: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-(x.reshape(len(x), -1) @ w)))
        return np.stack([1 - p, p], axis=1)

    return Explainable("linear", "numpy", 2, proba)


def _samples(x: np.ndarray, y: np.ndarray) -> Samples:
    return Samples(x.astype(np.float32), y, np.zeros_like(x, dtype=np.float32), np.arange(len(y)))


def _keras_dense(n_features: int, seed: int = 0, trained_on: tuple | None = None):
    import keras

    keras.utils.set_random_seed(seed)
    from models.dnn import build

    model = build((n_features,), 2, hidden_units=(16,), dropout=0.0, l2=0.0)
    if trained_on is not None:
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
        model.fit(*trained_on, epochs=60, verbose=0, batch_size=64)
    return model


def _keras_target(model) -> Explainable:
    from benchmarks.metrics.classification import probabilities

    return Explainable("dnn", "keras", 2, lambda x: probabilities(model.predict_on_batch(x), 2), model)


def _informative(n: int = 200, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 when features 0..2 sum above zero; the other features are noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x, (x[:, :3].sum(axis=1) > 0).astype(int)


# ----------------------------------------------------------------------------- registry


def test_registry_lists_methods_and_refuses_unknown_names():
    names = [m.name for m in list_methods()]
    assert {"saliency", "smoothgrad", "ig", "permutation", "occlusion"} <= set(names)
    assert get_method("ig").applies("keras", "image") and not get_method("ig").applies("sklearn", "image")
    assert get_method("permutation").applies("sklearn", "expression")
    assert not get_method("permutation").applies("sklearn", "image")
    assert get_method("occlusion").applies("sklearn", "image")
    assert get_method("ig").defaults["steps"] == 50
    with pytest.raises(OncobenchError, match="unknown attribution method 'nope'"):
        get_method("nope")


# ----------------------------------------------------------------------------- gradients


def test_integrated_gradients_completeness_on_dense_and_cnn():
    x, y = _informative(64, 10)
    target = _keras_target(_keras_dense(10, trained_on=(x, y)))
    s = _samples(x[:20], y[:20])
    attr = get_method("ig").fn(target, None, s, steps=50)
    assert attr.shape == s.x.shape
    assert completeness_error(target, s, attr).max() < 0.05
    # the check can fail: saliency maps do not sum to the output difference
    assert completeness_error(target, s, get_method("saliency").fn(target, None, s)).max() > 0.05

    import keras

    from models.cnn import build

    keras.utils.set_random_seed(1)
    cnn = build((8, 8, 1), 2, filters=(4,), dense_units=8, dropout=0.0, augment=False)
    imgs = np.random.default_rng(1).random((6, 8, 8, 1)).astype(np.float32)
    from benchmarks.explain.baselines import baseline_for

    si = Samples(imgs, np.array([0, 1, 0, 1, 0, 1]), baseline_for(imgs, "image"), np.arange(6))
    ig = get_method("ig").fn(_keras_target(cnn), None, si, steps=64)
    assert completeness_error(_keras_target(cnn), si, ig).max() < 0.05


def test_trained_ig_finds_informative_features_and_differs_from_random_model():
    x, y = _informative(300, 12)
    trained = _keras_target(_keras_dense(12, trained_on=(x, y)))
    random = _keras_target(_keras_dense(12, seed=99))
    s = _samples(x[:40], y[:40])
    ig = get_method("ig").fn(trained, None, s, steps=32)
    mean_abs = np.abs(ig).mean(axis=0)
    assert set(np.argsort(-mean_abs)[:3]) == {0, 1, 2}
    corr = rank_correlation(ig, get_method("ig").fn(random, None, s, steps=32))
    assert corr < 0.6
    # a "method" that ignores the model is caught: identical maps correlate perfectly
    assert rank_correlation(s.x, s.x) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- perturbation


def test_permutation_importance_ranks_the_informative_features_first():
    from sklearn.linear_model import LogisticRegression

    x, y = _informative(300, 12)
    est = LogisticRegression().fit(x, y)
    target = Explainable("logreg", "sklearn", 2, est.predict_proba, est)
    attr, _ = get_method("permutation").fn(target, None, _samples(x[:80], y[:80]), n_repeats=3)
    assert attr.shape == (80, 12)
    assert set(np.argsort(-attr.mean(axis=0))[:3]) == {0, 1, 2}


def _wide(n: int, p: int, informative: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``p`` standard-normal features; the label depends on the first ``informative`` only."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)).astype(np.float32)
    return x, (x[:, :informative].sum(axis=1) > 0).astype(int)


@pytest.mark.parametrize("model", ["forest", "keras_like"])
def test_top_k_permutation_scores_only_k_features_and_the_signal_first(model):
    """Top-k permutation: exactly k features are permuted (others 0), chosen by the model's own
    importance (forest) or ANOVA F on train (a model without one), and the feature that matters
    ranks first."""
    from sklearn.ensemble import RandomForestClassifier

    x, y = _wide(400, 300, 1)
    ds = _dataset(x[:300], y[:300])
    est = RandomForestClassifier(n_estimators=50, random_state=0).fit(x[:300], y[:300])
    calls = []

    def proba(rows: np.ndarray) -> np.ndarray:
        calls.append(len(rows))
        return est.predict_proba(rows.reshape(len(rows), -1))

    inner = est if model == "forest" else None  # None: no feature_importances_ -> ANOVA F
    target = Explainable("m", "sklearn", 2, proba, inner)
    attr, facts = get_method("permutation").fn(target, ds, _samples(x[300:], y[300:]), n_repeats=2,
                                               candidates=10)
    assert facts["k"] == 10 and len(facts["indices"]) == 10 and facts["scored"] == "top-k candidates"
    want = "feature_importances_" if model == "forest" else "ANOVA F on the training split"
    assert facts["prerank"] == want
    assert "rest_order" not in facts  # the record keeps the candidates, not every index
    scored = np.array(facts["indices"])
    rest = np.setdiff1d(np.arange(300), scored)
    assert (attr[:, rest].max(axis=1) < attr[:, scored].min(axis=1)).all()  # unscored rank last
    if model == "forest":  # ... in the pre-ranking's order
        by_attr = rest[np.argsort(-attr[0, rest], kind="stable")]
        assert by_attr.tolist() == rest[np.argsort(-est.feature_importances_[rest], kind="stable")].tolist()
    assert np.argmax(attr.mean(axis=0)) == 0 and 0 in facts["indices"]
    assert len(calls) == 1 + 10 * 2  # one baseline score, then k features x repeats

    full, facts_all = get_method("permutation").fn(target, ds, _samples(x[300:], y[300:]), n_repeats=2,
                                                   candidates=0)
    assert facts_all == {"scored": "all", "k": 300, "prerank": None}
    assert np.argmax(full.mean(axis=0)) == 0 and len(calls) == 21 + 1 + 300 * 2


def test_prerank_uses_coefficients_of_linear_models():
    from sklearn.linear_model import LogisticRegression

    from benchmarks.explain.candidates import choose

    x, y = _wide(300, 40, 2)
    est = LogisticRegression().fit(x, y)
    idx, facts = choose(est, None, 40, 2)
    assert facts["prerank"] == "|coef_|" and idx.tolist() == [0, 1]


def test_model_view_applies_the_records_feature_selection():
    """dnn's recipe keeps 200 ANOVA-F genes: explain rebuilds the same columns, names aligned."""
    from benchmarks.explain.record import model_view

    x, y = _wide(200, 50, 3)
    names = [f"g{i}" for i in range(50)]
    ds = _dataset(x, y, names=names)
    view, keep = model_view({"feature_selection": {"method": "anova_f", "k": 5, "n_features_in": 50}}, ds)
    assert view.train.x.shape == (200, 5) and set(range(3)) <= set(keep.tolist())
    assert view.feature_names == [names[i] for i in keep]
    assert model_view({"feature_selection": None}, ds) == (ds, None)


def test_explain_record_maps_selected_features_back_to_the_datasets_names(tmp_path):
    """A record trained on selected features is explained on those columns; named features,
    candidates and the signal-to-noise overlap use the dataset's own indices and names."""
    from benchmarks.explain.record import ExplainSettings, explain_record, model_view

    x, y = _wide(120, 40, 3, seed=1)
    ds = _dataset(x, y, names=[f"g{i}" for i in range(40)])
    record = {"key": "logreg|synthetic|0|-", "model": "logreg", "framework": "sklearn", "seed": 0,
              "hparams": {}, "feature_selection": {"method": "anova_f", "k": 8, "n_features_in": 40}}
    out = explain_record(record, ds, tmp_path, ExplainSettings(methods=("permutation",), samples=60,
                                                               top_k=5, candidates=4, sanity=False))
    keep = set(model_view(record, ds)[1].tolist())
    m = out["explanations"]["methods"]["permutation"]
    assert "8 selected" in out["explanations"]["features_explained"]
    assert set(m["scored"]["indices"]) <= keep and m["scored"]["k"] == 4
    top = m["top_features"]["overall"]
    assert all(ds.feature_names[t["index"]] == t["name"] and t["index"] in keep for t in top)
    assert {t["index"] for t in top[:3]} == {0, 1, 2} and m["snr_overlap"]["k"] == 5
    assert out["explain_time_s"] == m["time_s"] > 0


def test_occlusion_locates_the_patch_the_model_reads():
    w = np.zeros((14, 14, 1))
    w[:4, :4] = 0.1  # the model only looks at the top-left corner
    target = _linear_target(w.reshape(-1))
    imgs = np.random.default_rng(0).random((5, 14, 14, 1)).astype(np.float32) + 0.5
    attr = get_method("occlusion").fn(target, None, _samples(imgs, np.ones(5, dtype=int)), patch=2)
    assert attr.shape == imgs.shape
    assert attr[:, :4, :4].min() > 0 and np.abs(attr[:, 6:, 6:]).max() < 1e-6


# ----------------------------------------------------------------------------- faithfulness


def test_faithfulness_rewards_true_attributions_over_random_ones():
    rng = np.random.default_rng(0)
    w = rng.normal(size=50)
    target = _linear_target(w)
    x = rng.normal(size=(60, 50)).astype(np.float32)
    y = target.predict_proba(x).argmax(axis=1)
    s = _samples(x, y)
    true_attr = x * w * np.where(y == 1, 1, -1)[:, None]  # exact evidence for the predicted class
    good = faithfulness(target, s, true_attr, "expression")
    bad = faithfulness(target, s, rng.normal(size=x.shape), "expression")
    assert good["faithfulness"] > 0.1
    assert abs(bad["faithfulness"]) < good["faithfulness"] / 3
    assert good["curve"][0] > good["curve"][-1]


# ----------------------------------------------------------------------------- named features


def test_feature_names_stay_aligned_through_constant_removal_and_top_k():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6)) * np.array([1, 0, 5, 0.1, 3, 2])  # column 1 constant (0)
    names = [f"g{i}" for i in range(6)]
    prep = TabularPreprocessor(top_k=3).fit(x)
    assert prep.kept(names) == ["g2", "g4", "g5"]
    y = np.array([0, 1] * 15)
    idx = (np.arange(0, 20), np.arange(20, 25), np.arange(25, 30))
    splits, _ = preprocess_splits(x, y, idx, LoadOptions(top_k_genes=3), "t", feature_names=names)
    ds = Dataset("t", "expression", ["a", "b"], provenance=Provenance("x", "y"), **splits)
    assert ds.feature_names == TabularPreprocessor(top_k=3).fit(x[idx[0]]).kept(names)
    assert len(ds.feature_names) == ds.input_shape[0]


def test_golub_carries_probe_ids_and_descriptions():
    from datasets.registry import get_dataset

    ds = get_dataset("golub").load(LoadOptions(top_k_genes=500))
    assert len(ds.feature_names) == len(ds.feature_descriptions) == ds.input_shape[0] == 500
    descriptions = dict(zip(ds.feature_names, ds.feature_descriptions))
    assert descriptions.get("M27891_at", "").startswith("CST3")  # cystatin C, an AML marker in the paper


def test_top_features_per_class_and_signal_to_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    y = np.array([0, 1] * 20)
    x[y == 1, 3] += 3  # feature 3 separates the classes
    ds = _dataset(x, y, names=["A", "B", "C", "D", "E"])
    snr = signal_to_noise(ds.train)
    assert int(np.argmax(np.abs(snr))) == 3 and snr[3] > 0
    attr = np.zeros_like(x)
    attr[y == 1, 3] = 1.0
    attr[y == 0, 0] = 2.0
    top = top_features(ds, attr, y, 2)
    assert top["per_class"]["b"][0]["name"] == "D" and top["per_class"]["a"][0]["name"] == "A"
    assert [t["name"] for t in top["overall"]] == ["A", "D"]
    assert jaccard(["A", "D"], ["D", "E"]) == pytest.approx(1 / 3)


# ----------------------------------------------------------------------------- commands


def test_run_explain_then_explain_command_and_missing_checkpoints(tmp_path, capsys):
    from benchmarks.cli import main

    out_dir = tmp_path / "run"
    argv = ["run", "--model", "logreg,dnn", "--dataset", "wisconsin", "--profile", "quick",
            "--output", str(out_dir), "--explain"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "faithfulness" in captured.out  # the tables' column
    from sklearn.datasets import load_breast_cancer

    wisconsin_names = {str(n) for n in load_breast_cancer().feature_names}
    doc = json.loads((out_dir / "results.json").read_text())
    by_model = {r["model"]: r for r in doc["records"]}
    for model, method in (("dnn", "ig"), ("logreg", "permutation")):
        e = by_model[model]["explanations"]
        assert e["primary"] == method and isinstance(by_model[model]["faithfulness"], float)
        m = e["methods"][method]
        assert m["time_s"] > 0 and m["top_features"]["overall"][0]["name"] in wisconsin_names
        assert "spearman_trained_vs_random" in m["sanity"]
    assert by_model["dnn"]["explanations"]["methods"]["ig"]["completeness"]["holds"]
    assert by_model["dnn"]["explanations"]["methods"]["ig"]["settings"]["steps"] == 50
    assert by_model["dnn"]["explanations"]["methods"]["ig"]["deletion_settings"]["steps"] == 10
    assert by_model["logreg"]["explanations"]["refit_max_abs_diff"] < 1e-6
    assert "faithfulness" in (out_dir / "summary.md").read_text()

    # the report shows the explanations: a table, top-feature bars, the top-k overlap across models
    assert main(["report", str(out_dir)]) == 0
    capsys.readouterr()
    report_md = (out_dir / "report.md").read_text()
    assert "### Explanations" in report_md and "faithfulness" in report_md
    assert (out_dir / "figures" / "wisconsin--dnn--top-features.png").stat().st_size > 1000
    assert (out_dir / "figures" / "wisconsin--top-feature-overlap.png").exists()

    # explain on the saved run: other methods, no retraining of the Keras model
    assert main(["explain", str(out_dir), "--method", "saliency,permutation", "--samples", "20",
                 "--no-sanity"]) == 0
    doc = json.loads((out_dir / "results.json").read_text())
    dnn = next(r for r in doc["records"] if r["model"] == "dnn")
    assert set(dnn["explanations"]["methods"]) == {"saliency", "permutation"}
    assert dnn["explanations"]["n_samples"] == 20 and dnn["explanations"]["primary"] == "permutation"
    assert "saliency" in capsys.readouterr().out

    # a folder without its checkpoints: a one-line error, exit 2
    shutil.rmtree(out_dir / "checkpoints")
    assert main(["explain", str(out_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no saved checkpoint" in err[0]
    assert main(["explain", str(out_dir), "--method", "bogus"]) == 2
    assert "unknown attribution method" in capsys.readouterr().err


def test_report_grid_and_jaccard_matrix():
    from benchmarks.report.explanations import _grid, jaccard_matrix

    rng = np.random.default_rng(0)
    arrays = {"x": rng.random((4, 8, 8, 1)).astype(np.float32), "y": np.array([0, 0, 1, 1]),
              "pred": np.array([0, 1, 1, 0]), "attr_ig": rng.normal(size=(4, 8, 8, 1))}
    png = _grid("breastmnist", {"model": "cnn", "seed": 0, "fold": None}, arrays, ["malignant", "benign"])
    assert png and png[:4] == b"\x89PNG"

    def rec(model: str, seed: int, names: list[str]) -> dict:
        top = [{"name": n, "index": i, "score": 1.0} for i, n in enumerate(names)]
        return {"model": model, "seed": seed, "fold": None, "status": "ok",
                "explanations": {"primary": "ig", "methods": {"ig": {"top_features": {"overall": top}}}}}

    labels, mat = jaccard_matrix([rec("dnn", 0, ["A", "B"]), rec("logreg", 0, ["B", "C"])])
    assert labels == ["dnn seed 0", "logreg seed 0"]
    assert mat[0, 1] == pytest.approx(1 / 3) and mat[0, 0] == 1.0


def test_permutation_scores_given_columns_only():
    """The sanity check's randomised model is scored on the trained model's candidates."""
    from benchmarks.explain.perturbation import permutation

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 12)).astype(np.float32)
    y = (x[:, 3] > 0).astype(int)
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression().fit(x, y)
    target = Explainable("logreg", "sklearn", 2, est.predict_proba, est)
    samples = Samples(x[:20], y[:20], np.zeros_like(x[:20]), np.arange(20))
    attr, facts = permutation(target, None, samples, columns=[3, 7, 1])
    assert facts["indices"] == [1, 3, 7] and facts["k"] == 3
    others = np.setdiff1d(np.arange(12), [1, 3, 7])
    assert np.all(attr[:, others] == 0) and np.abs(attr[:, 3]).sum() > np.abs(attr[:, 7]).sum()
