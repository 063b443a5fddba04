"""User-facing errors: one line, a fix, exit code 2."""

from __future__ import annotations

from typing import Any, Iterable

MAX_MESSAGE = 1000  # a safety net; quoted values are cut by ``quote`` so data messages stay short
MAX_QUOTED = 40


def quote(value: Any, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` cut to ``limit`` characters, e.g. ``'xxxx…(52428800 chars)'``."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(str(value))} chars)"


def some(items: Iterable[Any], n: int = 5) -> str:
    """The first ``n`` items, comma-separated, with the count when there are more."""
    items = [str(i) for i in items]
    shown = ", ".join(quote(i, MAX_QUOTED)[1:-1] if len(i) > MAX_QUOTED else i for i in items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` on one line, cut in the middle (keeping the file name and the fix) to ``limit``.

    Messages quote user values through ``quote``/``some``, which keeps them under 300 characters
    for short paths; this cap only guards against a message that quotes something unbounded."""
    text = " ".join(str(message).split())
    if len(text) <= limit:
        return text
    cut = f" …({len(text)} chars)… "
    head = (limit - len(cut)) * 2 // 3
    tail = limit - len(cut) - head
    return text[:head] + cut + text[-tail:]


class OncobenchError(Exception):
    """A problem the user can fix (bad name, bad file, bad option).

    The CLI prints ``error: <message>`` on one line and exits with code 2;
    the message names the problem and the fix and is capped (see ``one_line``).
    """

    exit_code = 2

    def __init__(self, message: Any = "", *args: Any) -> None:
        super().__init__(one_line(str(message)), *args)


class DataError(OncobenchError):
    """A dataset file is missing, corrupt, truncated, or has bad content."""


class ChecksumError(DataError):
    """A file's checksum does not match the published one."""
