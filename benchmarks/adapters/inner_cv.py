"""Inner cross-validation on the training split: a recipe's small fixed grid, chosen per dataset.

A recipe may declare ``inner_cv``: candidate values of ``select_features`` (the recipe's gene
count) and of builder hyper-parameters (``l2``, ...). On data with many more features than
samples (``P_OVER_N``), every combination is trained on ``FOLDS`` stratified folds of the
training split (the validation split too when it joins training) exactly as the run will train
it (feature selection fitted on each inner training fold) with the model's scikit-learn twin
(``_fold_proba``) and scored by the pooled out-of-fold log loss; the best one is trained. The
validation and test splits of the run are never looked at; the time counts as training time.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from typing import Any

import numpy as np

FOLDS = 3
P_OVER_N = 5  # grid search only where features >= 5 x samples (p >> n); else the recipe as declared


def applies(x: Any, recipe: Any) -> str | None:
    """None when ``recipe.inner_cv`` runs on training features ``x``, else why not."""
    if not recipe.inner_cv:
        return "no grid in the recipe"
    if getattr(x, "ndim", 0) != 2:
        return "not flat features"
    if x.shape[1] < P_OVER_N * x.shape[0]:
        return f"{x.shape[1]} features < {P_OVER_N} x {x.shape[0]} samples: the recipe as declared"
    return None


def _fold_proba(x: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, k: int,
                hp: dict[str, Any], config: Any, seed: int) -> np.ndarray:
    """Out-of-fold class probabilities of the dnn's scikit-learn twin: the same hidden layers,
    L2, Adam learning rate, batch size and epochs (no dropout, no class weights). A Keras fit per
    grid point and fold cost ~1.5 s of graph building on tiny data (18 fits: 27 s a seed); the
    twin fits in milliseconds."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from benchmarks.adapters.features import anova_f

    keep = slice(None) if k <= 0 or k >= x.shape[1] else np.sort(np.argsort(anova_f(x[tr], y[tr]))[::-1][:k])
    net = MLPClassifier(tuple(hp.get("hidden_units", (100,))), alpha=float(hp.get("l2", 1e-4)),
                        learning_rate_init=config.learning_rate, batch_size=min(config.batch_size, len(tr)),
                        max_iter=config.epochs, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(x[tr][:, keep], y[tr])
    proba = np.zeros((len(te), int(y.max()) + 1))
    proba[:, net.classes_] = net.predict_proba(x[te][:, keep])
    return proba


def choose(spec: Any, x: np.ndarray, y: np.ndarray, num_classes: int, recipe: Any, hp: dict[str, Any],
           config: Any, seed: int) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(recipe, hp, record): the grid point with the lowest out-of-fold log loss on ``x``, ``y``."""
    from sklearn.model_selection import StratifiedKFold

    t0 = time.perf_counter()
    grid = {key: tuple(values) for key, values in recipe.inner_cv.items()}
    folds = min(FOLDS, int(np.bincount(y).min()))
    if folds < 2:
        return recipe, hp, {"chosen": None, "reason": "a class has fewer than 2 training samples"}
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    scores = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values))
        k = int(point.get("select_features", recipe.select_features))
        point_hp = {**hp, **{key: v for key, v in point.items() if key != "select_features"}}
        proba = np.zeros((len(y), num_classes))
        for tr, te in splits:
            proba[te] = _fold_proba(x, y, tr, te, k, point_hp, config, seed)[:, :num_classes]
        loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-7, 1.0))))
        scores.append({**point, "log_loss": round(loss, 4),
                       "accuracy": round(float(np.mean(proba.argmax(1) == y)), 4)})
    best = min(scores, key=lambda s: s["log_loss"])  # first of equals: grids list simpler first
    chosen = {key: best[key] for key in grid}
    new_recipe = replace(recipe, select_features=int(chosen["select_features"])) \
        if "select_features" in chosen else recipe
    new_hp = {**hp, **{key: v for key, v in chosen.items() if key != "select_features"}}
    return new_recipe, new_hp, {"chosen": chosen, "folds": folds, "scores": scores,
                                "seconds": round(time.perf_counter() - t0, 3)}
