"""Where oncobench keeps caches (data downloads, exported models), and checking input paths.

A leaf module: imports only ``benchmarks.core.errors``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from pathlib import Path

from benchmarks.core.errors import DataError


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


def path_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be opened ("symbolic link loop", "file not found", ...); None when it can.

    ``Path.exists()`` reports a symbolic link loop as a missing file; this tells them apart.
    """
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (a link on this path points back to itself)"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            if os.path.islink(path):
                return f"broken symbolic link (to {os.readlink(path)})"
            return "file not found"
        return f"cannot read ({exc.strerror})"
    except ValueError as exc:  # e.g. an embedded NUL byte
        return f"invalid path ({exc})"
    return None


def require_path(path: str | os.PathLike, fix: str) -> Path:
    """``path`` if it can be opened, else a one-line ``DataError``: the problem, then ``fix``.

    A symbolic link loop or broken link gets its own fix (replace the link), whatever ``fix`` says.
    """
    problem = path_problem(path)
    if problem is None:
        return Path(path)
    if problem.startswith(("symbolic link loop", "broken symbolic link")):
        fix = "replace the link with the real file or folder (or point it at one)"
    raise DataError(f"{path}: {problem}; {fix}")
