"""Classical scikit-learn baselines run under the same harness interface.

``seed`` is the reserved builder parameter: the run's seed, not a hyper-parameter.
"""

from __future__ import annotations

from benchmarks.modalities import MODALITIES as ALL_MODALITIES
from models.registry import Range, register_model


@register_model("logreg", modalities=ALL_MODALITIES, framework="sklearn",
                ranges={"C": Range(0, low_open=True), "max_iter": Range(1)})
def build_logreg(
    input_shape: tuple[int, ...], num_classes: int, *, C: float = 1.0, max_iter: int = 2000, seed: int = 0
):
    """Logistic regression (L2, lbfgs) on flattened, standardised features."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, random_state=seed)


@register_model("random_forest", modalities=ALL_MODALITIES, framework="sklearn",
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
