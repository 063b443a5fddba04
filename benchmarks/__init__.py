"""oncobench: a benchmarking suite for cancer classification with TensorFlow/Keras."""

__version__ = "0.1.0"
