"""Test set-up: a private cache (exported hub models, downloads) and quiet TensorFlow."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("ONCOBENCH_CACHE", tempfile.mkdtemp(prefix="oncobench-test-cache-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
