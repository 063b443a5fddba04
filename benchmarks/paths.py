"""Where oncobench keeps caches: data downloads and exported models."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def safe_filename(name: str, max_len: int = 60) -> str:
    """A file-name-safe form of ``name``; a short hash keeps distinct names distinct."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:max_len] or "x"
    if s != name:
        s += "-" + hashlib.sha1(name.encode()).hexdigest()[:6]
    return s


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
