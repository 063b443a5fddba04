"""Metrics: the catalogue of what each metric means (``catalogue``, light) and the quality
computations from test labels and scores (``classification``, NumPy / scikit-learn).

Only the catalogue is re-exported here, so importing this package stays cheap.
"""

from benchmarks.metrics.catalogue import METRICS, Metric, compared, cost, get, names, quality

__all__ = ["METRICS", "Metric", "compared", "cost", "get", "names", "quality"]
