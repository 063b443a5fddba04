"""Explanations as a measured output: attribution methods, faithfulness, sanity checks.

- ``methods``: the registry (``@register_method``); a method is
  ``explain(target, dataset, samples, **settings) -> attributions shaped like samples.x``.
- ``gradients``: saliency, SmoothGrad, Integrated Gradients (Keras, ``tf.GradientTape``).
- ``perturbation``: permutation importance (expression/tabular) and occlusion (images), any model.
- ``target``: what a method sees of a trained model (``Explainable``); ``restore`` rebuilds one
  from a finished run (Keras: registry + checkpoint; scikit-learn: deterministic refit).
- ``faithfulness``: deletion curves against random removal; ``sanity``: model randomisation;
  ``features``: named top-k features per class; ``record``: everything for one record.

Importing this package imports no framework.
"""

from __future__ import annotations

from benchmarks.explain.methods import Method, get_method, list_methods, register_method
from benchmarks.explain.target import Explainable, Samples

__all__ = ["Explainable", "Method", "Samples", "get_method", "list_methods", "register_method"]
