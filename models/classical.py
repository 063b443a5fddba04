"""Classical scikit-learn baselines run under the same harness interface."""

from __future__ import annotations

from benchmarks.modalities import MODALITIES as ALL_MODALITIES
from models.registry import register_model


@register_model(
    "logreg",
    modalities=ALL_MODALITIES,
    defaults={"C": 1.0, "max_iter": 2000},
    framework="sklearn",
)
def build_logreg(input_shape, num_classes, *, C: float = 1.0, max_iter: int = 2000, seed: int = 0):
    """Logistic regression (L2, lbfgs) on flattened, standardised features."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, random_state=seed)


@register_model(
    "random_forest",
    modalities=ALL_MODALITIES,
    defaults={"n_estimators": 300, "max_features": "sqrt", "min_samples_leaf": 1},
    framework="sklearn",
)
def build_random_forest(
    input_shape,
    num_classes,
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
