"""Keep TensorFlow's native (C++) start-up log out of the output.

TensorFlow logs from C++ through absl before ``absl::InitializeLog()``, so ``TF_CPP_MIN_LOG_LEVEL``
does not reach those lines (``oneDNN custom operations are on``, ``Could not find cuda drivers``,
the CPU-instructions notice) nor, at level 2, ``E0000 ... failed call to cuInit ... (303)``,
which comes when the devices are first listed. They are written to file descriptor 2 directly, so
they land in terminals and notebook cells alike.

``install()`` puts an import hook in front of ``import tensorflow``: the import and the first
device listing run with descriptor 2 sent to a temporary file, which is replayed only when the
import fails. Nothing is imported until something imports TensorFlow (``--help`` stays fast);
later errors print as usual. ``--debug`` (``ONCOBENCH_DEBUG=1`` in worker processes) skips it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import os
import sys
import tempfile
from typing import Any, Iterator

DEBUG_ENV = "ONCOBENCH_DEBUG"  # set by ``--debug``; worker processes inherit it
MODULE = "tensorflow"


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[Any]:
    """Send file descriptor 2 to a temporary file for the block; yields the file (rewound at exit)."""
    sys.stderr.flush()
    saved = os.dup(2)
    sink = tempfile.TemporaryFile()
    os.dup2(sink.fileno(), 2)
    try:
        yield sink
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sink.seek(0)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` with the native log captured."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        error: BaseException | None = None
        with native_stderr_captured() as sink:
            try:
                self.loader.exec_module(module)
                # cuInit (and its E0000 line) comes with the first device listing; this one does
                # not create the runtime context, so thread pools can still be configured after it
                module.config.list_physical_devices("GPU")
            except BaseException as exc:  # noqa: B036 - re-raised below, after the log is shown
                error = exc
        if error is not None:  # an import that fails shows everything it said
            os.write(2, sink.read())
            raise error


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders would, with ``_QuietLoader`` in front."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        remove()
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietFinder()


def enabled() -> bool:
    """False under ``--debug`` (``ONCOBENCH_DEBUG`` set to anything but 0 or empty)."""
    return os.environ.get(DEBUG_ENV, "") in ("", "0")


def install() -> bool:
    """Quiet TensorFlow's native start-up log, unless it is imported already or debugging is on;
    True when the hook is in place."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later native INFO/WARNING lines
    if not enabled() or MODULE in sys.modules:
        return False
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True


def remove() -> None:
    """Take the hook out (it removes itself at the first ``import tensorflow``)."""
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(_FINDER)
