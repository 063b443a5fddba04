"""File hashing and checksum checks (a leaf module: imports only ``benchmarks.core.errors`` and ``.paths``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from benchmarks.core.errors import ChecksumError, DataError
from benchmarks.core.paths import require_path

CHUNK = 1 << 20


def digests(path: Path, algo: str = "sha256") -> tuple[str, str]:
    """(``algo`` digest, sha256) of a file in one read of 1 MiB chunks."""
    h, sha = hashlib.new(algo), hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
            if algo != "sha256":
                sha.update(chunk)
    return h.hexdigest(), (h.hexdigest() if algo == "sha256" else sha.hexdigest())


def file_digest(path: Path, algo: str = "sha256") -> str:
    """Hex digest of a file."""
    return digests(path, algo)[0]


def verify_file(path: Path, expected: str, algo: str = "sha256", *, fix: str = "") -> str:
    """Check ``path`` exists and matches ``expected``; return its sha256.

    Raises DataError when missing or empty, ChecksumError on mismatch.
    """
    path = Path(path)
    require_path(path, fix or "restore it from the repository")
    if not path.is_file():
        raise DataError(f"{path}: not a file; {fix or 'restore it from the repository'}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty; {fix or 'restore it from the repository'}")
    got, sha = digests(path, algo)
    if got != expected:
        raise ChecksumError(
            f"{path}: {algo} mismatch (expected {expected[:12]}..., got {got[:12]}...); "
            f"{fix or 'the file is corrupt or modified: restore it (git checkout -- ' + str(path) + ')'}"
        )
    return sha
