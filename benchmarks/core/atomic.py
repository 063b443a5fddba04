"""Atomic file writing, and one-line errors when the disk or folder refuses a write.

A leaf module: imports nothing of the project's but the leaf ``benchmarks.core.errors``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from benchmarks.core.errors import OncobenchError


class WriteError(OncobenchError, OSError):
    """A file could not be written (read-only folder, full disk, a file where a folder should be)."""


def write_error(path: Path, exc: OSError) -> WriteError:
    """The one-line error for ``exc`` raised while writing ``path``: the path, errno text, a fix."""
    text = (exc.strerror or os.strerror(exc.errno)) if exc.errno else str(exc)
    fix = {
        errno.ENOSPC: "free some disk space or write elsewhere",
        errno.EDQUOT: "free some disk space or write elsewhere",
        errno.EACCES: "choose a writable folder or fix its permissions",
        errno.EPERM: "choose a writable folder or fix its permissions",
        errno.EROFS: "choose a writable folder or fix its permissions",
    }.get(exc.errno or 0, "check the path or write elsewhere")
    return WriteError(f"cannot write {path}: {text}; {fix}")


def check_writable_dir(path: Path, flag: str = "--output") -> None:
    """Fail in one line unless ``path`` is (or can be created as) a writable folder.

    Checks the folder (or its nearest existing parent) with ``os.access`` and a probe file that
    is created and removed; creates nothing else.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OncobenchError(f"{flag} {path}: is a file, not a folder; give a folder path")
    probe_dir = path
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise OncobenchError(f"{flag} {path}: {probe_dir} is a file, not a folder; give a folder path")
    if not os.access(probe_dir, os.W_OK | os.X_OK):
        raise OncobenchError(f"{flag} {path}: {probe_dir} is not writable ({os.strerror(errno.EACCES)}); "
                             "choose a writable folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".oncobench-probe-", dir=probe_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise write_error(probe_dir, exc) from None


@contextmanager
def atomic_open(path: Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync and rename it over ``path``.

    A crash or Ctrl-C leaves the old file (or none), never a half-written one. An ``OSError``
    (full disk, read-only folder, a file in the way) becomes a one-line ``WriteError``.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except WriteError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are meant to be shared
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except WriteError:
        Path(tmp).unlink(missing_ok=True)
        raise
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
