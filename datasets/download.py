"""One download mechanism for every remote dataset.

A ``Remote`` names a URL, the published checksum (sha256 or md5) and where the file
lives in the data folder (``--data-dir``, else ``$ONCOBENCH_DATA``, else the user
cache). ``fetch`` reuses a file already there when its checksum is right (a file put
there by hand works with no network), otherwise downloads to a temporary file,
verifies it and renames it into place. A bad file is moved aside to
``<name>.corrupt-<timestamp>``, never reused. A ``<name>.verified`` marker records a
successful check so later runs and ``list`` need not hash large files again.

Nothing here imports TensorFlow; ``urllib`` is imported only when downloading.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tarfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, TextIO

from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import ChecksumError, DataError, OncobenchError
from benchmarks.core.hashing import CHUNK, digests, file_digest
from benchmarks.core.paths import data_dir, path_problem, require_path
from datasets.base import LoadOptions


def timeout_s() -> float:
    """Socket timeout for downloads: ``$ONCOBENCH_TIMEOUT`` seconds, default 30."""
    try:
        return float(os.environ.get("ONCOBENCH_TIMEOUT", "30"))
    except ValueError:
        raise OncobenchError("ONCOBENCH_TIMEOUT must be a number of seconds, e.g. 30") from None


@dataclass(frozen=True)
class Remote:
    """A file published at ``url`` with checksum ``digest`` (``algo``: sha256 or md5)."""

    name: str  # dataset name, for messages
    url: str
    filename: str
    digest: str
    algo: str = "sha256"
    subdir: str = ""  # folder inside the data folder

    def path(self, root: Path) -> Path:
        return Path(root) / self.subdir / self.filename


def root_of(options: LoadOptions | None) -> Path:
    return data_dir(options.data_dir if options else None)


# ---------------------------------------------------------------- verification markers
def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_marker(path: Path, algo: str, digest: str, sha256: str) -> None:
    st = path.stat()
    atomic_write_text(_marker(path), json.dumps({
        "algo": algo, "digest": digest, "sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
    }))


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _read_marker(path: Path, algo: str, digest: str) -> dict | None:
    """The marker of ``path`` if it still describes this exact file and the publisher's checksum.

    Trusted only when its ``algo``/``digest`` are the publisher's (``algo``, ``digest``), its size and
    modification time are the file's, and its ``sha256`` is a 64-hex digest (equal to ``digest``
    when the publisher's checksum is a sha256). Anything else: the file is hashed again.
    """
    try:
        m = json.loads(_marker(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(m, dict):
        return None
    ok = (m.get("algo") == algo and m.get("digest") == digest and m.get("size") == st.st_size
          and m.get("mtime_ns") == st.st_mtime_ns and _is_sha256(m.get("sha256"))
          and (algo != "sha256" or m.get("sha256") == digest))
    return m if ok else None


def is_present(remote: Remote, root: Path) -> bool:
    """Cheap, offline: the file is in place and non-empty (verified when loaded)."""
    p = remote.path(root)
    try:
        return p.is_file() and p.stat().st_size > 0
    except OSError:
        return False


def sha256_of(path: Path, remote: Remote | None = None) -> str:
    """sha256 of ``path``: from its ``.verified`` marker when that marker is current and belongs to
    ``remote``'s published checksum (see ``_read_marker``), else hashed from the file."""
    path = Path(path)
    m = _read_marker(path, remote.algo, remote.digest) if remote else None
    return str(m["sha256"]) if m else file_digest(path, "sha256")


def move_aside(path: Path, name: str | None = None) -> Path:
    """Rename a bad file to ``<name>.corrupt-<UTC timestamp>`` beside it (never overwrites)."""
    name = name or path.name
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dest = path.with_name(f"{name}.corrupt-{stamp}")
    n = 1
    while dest.exists():
        dest = path.with_name(f"{name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, dest)
    _marker(path.with_name(name)).unlink(missing_ok=True)
    return dest


def _hand_fix(remote: Remote, target: Path) -> str:
    return f"download {remote.url} by hand and place it at {target} ({remote.algo} {remote.digest})"


def verify(remote: Remote, path: Path) -> str:
    """Check ``path`` against the published checksum; return its sha256.

    On a mismatch the file is moved aside and ChecksumError says where it went.
    """
    m = _read_marker(path, remote.algo, remote.digest)
    if m:
        return str(m["sha256"])
    got, sha = digests(path, remote.algo)
    if got != remote.digest:
        aside = move_aside(path)
        raise ChecksumError(
            f"{path}: {remote.algo} mismatch (expected {remote.digest[:12]}..., got {got[:12]}...); "
            f"moved the bad file to {aside.name}; run 'python -m benchmarks download {remote.name}' "
            f"again or {_hand_fix(remote, path)}"
        )
    _write_marker(path, remote.algo, remote.digest, sha)
    return sha


# ---------------------------------------------------------------- progress bar
class Progress:
    """A one-line stderr progress bar; silent when the stream is not a terminal."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0

    def render(self) -> str:
        mb = self.done / 1e6
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            return f"\r{self.label} [{bar:<30}] {frac:4.0%} {mb:.1f}/{self.total / 1e6:.1f} MB"
        return f"\r{self.label} {mb:.1f} MB"

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or (self.total and self.done >= self.total)):
            self._last = now
            self.stream.write(self.render())
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write(self.render() + "\n")
            self.stream.flush()


# ---------------------------------------------------------------- download
def _download(remote: Remote, target: Path, timeout: float) -> None:
    """Stream ``remote.url`` into a temporary file next to ``target``, then rename it."""
    import http.client
    import socket
    import urllib.error
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        req = urllib.request.Request(remote.url, headers={"User-Agent": "oncobench"})
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = Progress(f"{remote.name}: {remote.filename}", total)
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))
            bar.close()
            out.flush()
            os.fsync(out.fileno())
        if total is not None and bar.done != total:
            raise DataError(
                f"download of {remote.url} was cut short ({bar.done} of {total} bytes) and was discarded; "
                f"run 'python -m benchmarks download {remote.name}' again or {_hand_fix(remote, target)}"
            )
    except urllib.error.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"cannot download {remote.name} (HTTP {exc.code} {exc.reason} from {remote.url}); "
                        f"{_hand_fix(remote, target)}") from None
    except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise DataError(
            f"cannot download {remote.name} ({type(exc).__name__}: {reason}); you may be offline: "
            f"{_hand_fix(remote, target)}"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        got, sha = digests(tmp, remote.algo)
        if got != remote.digest:
            final = move_aside(tmp, target.name)
            raise ChecksumError(
                f"{remote.url}: downloaded file fails its {remote.algo} check (expected "
                f"{remote.digest[:12]}..., got {got[:12]}...); moved it to {final}; retry later or "
                f"{_hand_fix(remote, target)}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, remote.algo, remote.digest, sha)


def fetch(remote: Remote, root: Path | None = None, *, timeout: float | None = None) -> Path:
    """The verified local copy of ``remote`` under ``root``, downloading it when absent."""
    target = remote.path(root if root is not None else data_dir())
    problem = path_problem(target)
    if problem is not None and problem != "file not found":  # a link loop or broken link: say so
        require_path(target, _hand_fix(remote, target))
    if target.is_dir():
        raise DataError(f"{target}: is a folder, expected the file {remote.filename}; remove or rename it")
    if target.exists():
        if target.stat().st_size == 0:
            aside = move_aside(target)
            raise DataError(f"{target}: file is empty (moved to {aside.name}); run 'python -m benchmarks "
                            f"download {remote.name}' or {_hand_fix(remote, target)}")
        verify(remote, target)
        return target
    _download(remote, target, timeout_s() if timeout is None else timeout)
    return target


# ---------------------------------------------------------------- archives
def check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Reject members that could write outside the extraction folder."""
    name = member.name
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and parts[0].endswith(":")) or ".." in parts:
        raise DataError(f"{archive}: unsafe member path {name!r} (absolute or '..'); "
                        "refusing to extract; the archive is not the published one: delete it")
    if not (member.isfile() or member.isdir()):
        raise DataError(f"{archive}: member {name!r} is a link or special file; refusing to extract; "
                        "the archive is not the published one: delete it")


@contextmanager
def open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    """A ``.tar(.gz)`` whose every member has been checked by ``check_member``."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar.getmembers():
                check_member(member, archive)
            yield tar
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"{archive}: truncated or corrupt archive ({type(exc).__name__}: {exc}); "
                        "delete it and download it again") from None

