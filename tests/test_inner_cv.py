"""The dnn's expression recipe adapts to the data: on generated p >> n sets with known informative
genes, inner cross-validation on the training split picks a gene count that keeps them; it does not
run where features do not outnumber samples; random_forest's latency is timed with n_jobs=1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from benchmarks.config import RunConfig


def expression(n: int, p: int, k: int, *, informative: int = 24, block: int = 12, shift: float = 1.5,
               rho: float = 0.6, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlated gene blocks (shared latent factor ``rho``); the class moves ``informative``
    genes, a block at a time, along a random direction per block. Returns x, y, informative."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % k)
    latent = np.repeat(rng.normal(size=(n, p // block)), block, axis=1)
    x = np.sqrt(rho) * latent + np.sqrt(1 - rho) * rng.normal(size=(n, p))
    genes = rng.permutation(p)[:informative]
    for start in range(0, informative, block):
        x[:, genes[start:start + block]] += shift * rng.normal(size=k)[y][:, None]
    return x.astype(np.float32), y, np.sort(genes)


def test_inner_cv_keeps_the_informative_genes_of_a_p_much_larger_than_n_set():
    from benchmarks.adapters.features import anova_f
    from benchmarks.adapters.inner_cv import choose
    from models import get_model

    spec = get_model("dnn")
    x, y, genes = expression(60, 1200, 3)
    config = RunConfig(epochs=30)
    grid = {"select_features": (30, 1000), "l2": (1e-3, 1e-2)}  # the dnn's, smaller: a quick test
    recipe, hp, record = choose(spec, x, y, 3, replace(spec.recipe, inner_cv=grid),
                                spec.hparams({"hidden_units": (64, 32)}), config, seed=0)
    assert len(record["scores"]) == 4 and record["folds"] == 3
    k = recipe.select_features
    assert k == record["chosen"]["select_features"] and hp["l2"] == record["chosen"]["l2"]
    assert k == 30  # the many-gene point fits noise on 40 training samples
    kept = np.argsort(anova_f(x, y))[::-1][:k]
    assert len(set(kept) & set(genes)) >= 0.8 * len(genes)
    best = min(s["log_loss"] for s in record["scores"])
    assert best < np.log(3) * 0.8  # better than chance by a margin


def test_inner_cv_only_where_features_outnumber_samples():
    from benchmarks.adapters.inner_cv import applies
    from models import get_model

    recipe = get_model("dnn").recipe
    assert applies(np.zeros((40, 5000)), recipe) is None
    assert "features <" in applies(np.zeros((500, 30)), recipe)
    assert applies(np.zeros((40, 5000)), replace(recipe, inner_cv={})) == "no grid in the recipe"


def test_single_row_latency_uses_one_job_and_restores_it():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    from benchmarks.adapters.sklearn import single_row_latency

    x, y, _ = expression(40, 48, 2)
    forest = RandomForestClassifier(10, n_jobs=-1, random_state=0).fit(x, y)
    seen = []
    out = single_row_latency(forest, lambda r: seen.append(forest.n_jobs) or forest.predict_proba(r),
                             x[:1], 3)
    assert out["latency_n_jobs"] == 1 and set(seen) == {1} and forest.n_jobs == -1
    plain = LogisticRegression().fit(x, y)
    assert single_row_latency(plain, plain.predict_proba, x[:1], 3)["latency_n_jobs"] == 1
