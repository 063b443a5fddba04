"""Where oncobench keeps caches: data downloads and exported models."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$ONCOBENCH_CACHE``, else ``$XDG_CACHE_HOME/oncobench``, else ``~/.cache/oncobench``."""
    env = os.environ.get("ONCOBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "oncobench"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """Downloaded datasets: ``--data-dir``, else ``$ONCOBENCH_DATA``, else ``cache_dir()/data``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("ONCOBENCH_DATA")
    return Path(env).expanduser() if env else cache_dir() / "data"
