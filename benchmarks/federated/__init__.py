"""Federated training with Flower (optional extra ``oncobench[federated]``).

``settings`` (flags as data) and ``partition`` import no Flower; ``job`` writes what the apps
read; ``training`` is Keras on one node; ``strategies`` and ``apps`` are the Flower side;
``simulate`` runs the apps in Flower's simulation engine; ``preflight`` refuses impossible runs
before anything trains; ``records`` labels records and adds the gap to the centralised run.
The adapter that plugs this into the harness is ``benchmarks.federated.adapter``.
"""

from __future__ import annotations

import importlib.util

from benchmarks.core.errors import OncobenchError

INSTALL_HINT = 'pip install "oncobench[federated]"  (or: pip install "flwr[simulation]>=1.42")'


def require_flower() -> None:
    """One-line ``OncobenchError`` (exit 2) when Flower or its simulation engine is missing."""
    for module in ("flwr", "ray"):
        if importlib.util.find_spec(module) is None:
            raise OncobenchError(f"--federated needs Flower's simulation engine ({module} is not "
                                 f"installed): {INSTALL_HINT}")
