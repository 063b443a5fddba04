"""Run progress: how many runs are done, elapsed time and an ETA.

``RunProgress`` is what the runner reports to; it is also a plain ``log(line)`` callable, so it
can be passed wherever a progress function is taken (``api.run_suite(progress=...)``).

- On a terminal (the stream is a TTY and ``CI`` is not set): a ``rich.progress`` bar, redrawn
  ten times a second: ``k/N runs``, the run in progress, elapsed, ``ETA`` (the mean time per
  finished run times the runs left, counting down), with each finished run's line printed above.
- Otherwise (a pipe, a log file, CI): one plain line per finished run,
  ``[k/N] dnn on wisconsin seed 0: accuracy ...  (2.5 s; elapsed 0:01:10, ETA 0:03:20)``.

Interface (the runner calls these):
``start(total, done=0)``, ``started(label)``, ``finished(label, seconds, status)``, ``close()``;
``progress(line)`` for any other line.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, TextIO


def clock(seconds: float | None) -> str:
    """``0:03:20``; ``--:--`` when unknown."""
    if seconds is None:
        return "--:--"
    s = int(round(max(0.0, seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def in_ci() -> bool:
    """True under a CI service (``CI`` set, as GitHub Actions, GitLab and most others do)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def live_wanted(stream: TextIO) -> bool:
    """A live bar: the stream is a terminal and this is not CI."""
    try:
        return bool(stream.isatty()) and not in_ci()
    except (AttributeError, ValueError):
        return False


class RunProgress:
    """Progress of a suite's runs (see the module docstring)."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 emit: Callable[[str], None] | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.live = live_wanted(self.stream) if live is None else live
        self.emit = emit  # plain lines go here instead of the stream (e.g. a logger)
        self.total = 0
        self.finished_runs = 0  # in this session (resumed runs excluded from the ETA)
        self.done_before = 0
        self.t0 = time.monotonic()
        self.last = self.t0
        self._bar: Any = None
        self._task: Any = None

    # the plain ``log(line)`` face
    def __call__(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        elif self.emit is not None:
            self.emit(line)
        else:
            print(line, file=self.stream, flush=True)

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left: mean seconds per finished run x runs left, less the time since the last."""
        if not self.finished_runs:
            return None
        now = time.monotonic() if now is None else now
        per = (self.last - self.t0) / self.finished_runs
        left = self.total - self.done_before - self.finished_runs
        return max(0.0, per * left - (now - self.last)) if left > 0 else 0.0

    def start(self, total: int, done: int = 0) -> None:
        """``total`` runs in the suite, ``done`` of them finished earlier (a resume)."""
        self.total, self.done_before, self.finished_runs = total, done, 0
        self.t0 = self.last = time.monotonic()
        if self.live and total > done:
            try:
                self._start_bar()
            except ImportError:  # rich missing (an install without its dependencies): plain lines
                self.live = False

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
        from rich.text import Text

        owner = self

        class Times(ProgressColumn):
            def render(self, task):  # noqa: ARG002 - the times are the suite's, not the task's
                now = time.monotonic()
                return Text(f"elapsed {clock(now - owner.t0)}  ETA {clock(owner.eta(now))}")

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                             TextColumn("runs"), Times(),
                             console=Console(file=self.stream), refresh_per_second=10,
                             redirect_stdout=False, redirect_stderr=False)
        self._task = self._bar.add_task("starting", total=self.total, completed=self.done_before)
        self._bar.start()

    def started(self, label: str) -> None:
        """A run begins (the bar shows it; no plain line)."""
        if self._bar is not None:
            self._bar.update(self._task, description=label)

    def finished(self, label: str, seconds: float, status: str) -> None:
        """A run ended: ``status`` is its result text (``accuracy 0.97 ...`` or ``FAILED ...``)."""
        self.finished_runs += 1
        self.last = time.monotonic()
        k = self.done_before + self.finished_runs
        head = f"[{k}/{self.total}] {label}: {status}"
        if self._bar is not None:
            self(f"{head}  ({seconds:.1f} s)")
            self._bar.update(self._task, completed=k)
            self._bar.refresh()  # drawn now: the next run may end before the next timed refresh
        else:
            self(f"{head}  ({seconds:.1f} s; elapsed {clock(self.last - self.t0)}, "
                 f"ETA {clock(self.eta(self.last))})")

    def close(self) -> None:
        """Stop the bar (leaving its last state on screen); safe to call twice."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def progress_of(log: Callable[[str], None]) -> RunProgress:
    """``log`` itself when it is a ``RunProgress``, else plain progress lines sent to ``log``."""
    return log if isinstance(log, RunProgress) else RunProgress(live=False, emit=log)
