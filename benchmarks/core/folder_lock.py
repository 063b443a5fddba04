"""One writer per results folder: an advisory ``flock`` on ``FOLDER/.oncobench.lock``.

``run`` (and ``explain``, which writes records back) hold the lock for as long as they write a
folder; a second process that wants the same folder is refused in one line before it trains
anything, naming the process that holds it. The lock is re-entrant within one process (the
run's executors and ``explain`` inside ``run --explain`` share it) and is released by the kernel
when the holder dies, so a killed run never leaves a stale lock behind.

A leaf module: the standard library and ``benchmarks.core.errors`` only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from pathlib import Path
from typing import Iterator

from benchmarks.core.errors import OncobenchError

LOCK_NAME = ".oncobench.lock"
_held: dict[str, tuple[int, int]] = {}  # resolved folder -> (fd, depth)


class FolderBusy(OncobenchError):
    """Another process is writing the results folder."""


def _key(folder: Path) -> str:
    return str(Path(folder).resolve())


def holds(folder: Path) -> bool:
    """True when this process holds ``folder``'s lock."""
    return _key(folder) in _held


def _holder(path: Path) -> str:
    """Who holds the lock, as the holder wrote it. The holder writes its line just after taking
    the lock, so an empty file is read again for up to a second (seen in CI: two runs started
    together, the refused one read the file in between and could only say "another process")."""
    for _ in range(20):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            return "another process"
        if text:
            return text
        time.sleep(0.05)
    return "another process"


def acquire(folder: Path, flag: str = "--output") -> bool:
    """Take ``folder``'s lock (creating the folder); True when this call created the folder.

    Raises ``FolderBusy`` at once (no waiting) when another process holds it.
    """
    import fcntl

    folder = Path(folder)
    key = _key(folder)
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        return False
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from benchmarks.core.atomic import write_error

        raise write_error(folder, exc) from None
    path = folder / LOCK_NAME
    for _ in range(20):  # the file may be unlinked by a releasing holder between open and flock
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            from benchmarks.core.atomic import write_error

            raise write_error(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OncobenchError(f"{flag} {folder}: cannot lock {path} ({exc.strerror}); "
                                     "choose a folder on a local disk") from None
            raise FolderBusy(f"{flag} {folder} is in use by {_holder(path)}; wait for it to finish or "
                             "choose another folder") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:  # pragma: no cover - a lock file replaced 20 times in a row
        raise FolderBusy(f"{flag} {folder}: its lock keeps changing hands; try again")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"oncobench pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode(), 0)
    _held[key] = (fd, 1)
    return created


def release(folder: Path) -> None:
    """Give back one level of ``folder``'s lock; the last one unlinks the lock file and unlocks."""
    key = _key(folder)
    if key not in _held:
        return
    fd, depth = _held[key]
    if depth > 1:
        _held[key] = (fd, depth - 1)
        return
    del _held[key]
    with contextlib.suppress(OSError):
        os.unlink(Path(key) / LOCK_NAME)  # while still locked: a waiter re-checks the inode
    os.close(fd)


@contextlib.contextmanager
def locked(folder: Path, flag: str = "--output") -> Iterator[Path]:
    """Hold ``folder``'s lock for the block; a folder this call created and left empty is removed."""
    folder = Path(folder)
    created = acquire(folder, flag)
    try:
        yield folder
    finally:
        release(folder)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when nothing was written
