"""Tracking tools, optional extras: TensorBoard logs (``oncobench[tensorboard]``) and MLflow export
(``oncobench[mlflow]``). Both read finished records; neither is imported unless asked for."""

from __future__ import annotations

import importlib
from types import ModuleType

from benchmarks.core.errors import OncobenchError


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, or fail in one line naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise OncobenchError(f"{feature} needs the {module!r} package: "
                             f"pip install 'oncobench[{extra}]'") from None
