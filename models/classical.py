"""Classical scikit-learn baselines run under the same harness interface.

``seed`` is the reserved builder parameter: the run's seed, not a hyper-parameter.
"""

from __future__ import annotations

from benchmarks.core.modalities import MODALITIES as ALL_MODALITIES
from models.recipe import Recipe, choice, floats, ints
from models.registry import Range, register_model

LOGREG_RECIPE = Recipe(sources={
    "input": "features standardised with training-split statistics (datasets.preprocess); images "
             "flattened",
    "regularisation": "L2, C = 1 (scikit-learn's default); tune searches C on a log scale",
})
FOREST_RECIPE = Recipe(sources={
    "trees": "300 trees, sqrt(p) features per split (Breiman 2001; scikit-learn's default rule)",
})


@register_model("logreg", modalities=ALL_MODALITIES, framework="sklearn", recipe=LOGREG_RECIPE,
                search_space={"C": floats(1e-4, 1e2, log=True)},
                ranges={"C": Range(0, low_open=True), "max_iter": Range(1)})
def build_logreg(
    input_shape: tuple[int, ...], num_classes: int, *, C: float = 1.0, max_iter: int = 2000, seed: int = 0
):
    """Logistic regression (L2, lbfgs) on flattened, standardised features."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, random_state=seed)


@register_model("random_forest", modalities=ALL_MODALITIES, framework="sklearn", recipe=FOREST_RECIPE,
                search_space={"n_estimators": ints(100, 400), "min_samples_leaf": ints(1, 5),
                              "max_features": choice("sqrt", "log2", 0.2)},
                ranges={"n_estimators": Range(1), "min_samples_leaf": Range(1)})
def build_random_forest(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    n_estimators: int = 300,
    max_features: str | float = "sqrt",
    min_samples_leaf: int = 1,
    seed: int = 0,
):
    """Random forest (300 trees, sqrt features) on flattened features."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=n_estimators,
        max_features=max_features,
        min_samples_leaf=min_samples_leaf,
        random_state=seed,
        n_jobs=-1,
    )
