"""User-facing errors: one line, a fix, exit code 2."""

from __future__ import annotations


class OncobenchError(Exception):
    """A problem the user can fix (bad name, bad file, bad option).

    The CLI prints ``error: <message>`` on one line and exits with code 2;
    the message names the problem and the fix.
    """

    exit_code = 2


class DataError(OncobenchError):
    """A dataset file is missing, corrupt, truncated, or has bad content."""


class ChecksumError(DataError):
    """A file's checksum does not match the published one."""
