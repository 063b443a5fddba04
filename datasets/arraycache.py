"""Arrays larger than memory: an uncompressed ``.npy`` cache of ``.npz`` members, read by rows.

``.npz`` files are zip archives, which cannot be memory-mapped, so a large one is unpacked once
(member by member, streamed in chunks) into plain ``.npy`` files beside it (or under the
download cache when that folder is read-only). A ``manifest.json`` keeps the source's sha256:
a changed source makes a fresh cache. Every file is written atomically.

Members stored uncompressed (``numpy.savez``) need no cache: they are read in place.
``RowReader`` reads rows of such a ``.npy`` by index with positional reads (``os.pread``):
the file stays on disk and only the rows asked for enter memory. (A ``numpy.memmap`` would do
the same reads, but every page it touches counts in the process's resident memory until the
kernel drops it; reading into fresh buffers keeps the resident size bounded by a batch.)
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.atomic import atomic_open, atomic_write_text
from benchmarks.core.errors import DataError

CACHE_MIN_BYTES = 128 << 20  # npz files at least this large are unpacked and read lazily
MANIFEST = "manifest.json"
COPY_CHUNK = 16 << 20
CACHE_VERSION = 1


IO_THREADS = 8  # positional reads in flight at once (I/O-bound: preadv releases the GIL)
IO_MIN_RUNS = 4  # fewer separate runs of rows than this are read in the calling thread
_POOL: Any = None


def _io_pool() -> Any:
    """One shared thread pool for row reads (created on first use)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="oncobench-rows")
    return _POOL


class RowReader:
    """A read-only, array-like view of a C-ordered ``.npy`` file; ``x[i]``, ``x[a:b]`` and
    ``x[index_array]`` read only those rows. ``shape`` may add or drop unit axes of a row
    (e.g. (N,H,W) read as (N,H,W,1))."""

    def __init__(self, path: Path, shape: tuple[int, ...] | None = None, start: int = 0) -> None:
        self.path, self.start = Path(path), start  # start: where the .npy begins (a stored zip member)
        with open(self.path, "rb") as fh:
            fh.seek(start)
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            file_shape, fortran, dtype = read(fh)
            self.offset = fh.tell()
        if fortran or dtype.hasobject:
            raise DataError(f"{self.path}: not a plain C-ordered numeric array; re-create the cache")
        self.dtype = np.dtype(dtype)
        shape = tuple(shape or file_shape)
        if not shape or shape[0] != file_shape[0] or np.prod(shape[1:]) != np.prod(file_shape[1:]):
            raise ValueError(f"{self.path}: shape {shape} does not match the file's {file_shape}")
        self.shape = shape
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self._fd: int | None = None

    def __len__(self) -> int:
        return int(self.shape[0])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def with_shape(self, shape: tuple[int, ...]) -> "RowReader":
        """The same rows under another row shape of the same size."""
        return RowReader(self.path, shape, self.start)

    def _fileno(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def _read(self, start: int, count: int, out: np.ndarray) -> None:
        """Rows start..start+count into ``out`` (a C-contiguous byte buffer)."""
        view = memoryview(out).cast("B")
        want, done = count * self.row_bytes, 0
        pos = self.offset + start * self.row_bytes
        while done < want:
            got = os.preadv(self._fileno(), [view[done:want]], pos + done)
            if got <= 0:
                raise DataError(f"{self.path}: file ends early (truncated cache); delete it to rebuild")
            done += got

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            return self[np.array([i])][0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return self[np.arange(start, stop, step)]
            out = np.empty((max(0, stop - start), *self.shape[1:]), self.dtype)
            if out.size:
                self._read(start, len(out), out)
            return out
        idx = np.asarray(key)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        idx = np.where(idx < 0, idx + len(self), idx)
        order = np.argsort(idx, kind="stable")
        srt = idx[order]
        out = np.empty((idx.size, *self.shape[1:]), self.dtype)
        tmp = out if np.all(order == np.arange(idx.size)) else np.empty_like(out)
        runs, k = [], 0
        while k < srt.size:  # contiguous runs of sorted rows in one read each
            j = k + 1
            while j < srt.size and srt[j] == srt[j - 1] + 1:
                j += 1
            runs.append((k, j))
            k = j
        self._fileno()  # opened once, before any thread reads
        if len(runs) >= IO_MIN_RUNS:  # scattered rows: reads in flight together hide disk latency
            list(_io_pool().map(lambda r: self._read(int(srt[r[0]]), r[1] - r[0], tmp[r[0]:r[1]]), runs))
        else:
            for a, b in runs:
                self._read(int(srt[a]), b - a, tmp[a:b])
        if tmp is not out:
            out[order] = tmp
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Every row in memory (for small arrays and tests)."""
        out = self[:]
        return out.astype(dtype) if dtype is not None else out

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None}

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"RowReader({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"


def cache_dir_for(path: Path, fallback_root: Path) -> Path:
    """Where ``path``'s ``.npy`` cache lives: beside it, else (read-only folder) under the
    download cache, named by the file."""
    beside = path.parent / f".{path.name}.npy-cache"
    if beside.is_dir() or os.access(path.parent, os.W_OK):
        return beside
    return fallback_root / "npy-cache" / f"{path.name}"


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def stored_members(path: Path, keys: tuple[str, ...]) -> dict[str, int] | None:
    """Where each of ``keys``'s ``.npy`` starts inside ``path`` when every one is stored
    uncompressed (``numpy.savez``): such members are read in place, with no cache. None otherwise."""
    out = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for k in keys:
            try:
                info = zf.getinfo(f"{k}.npy")
            except KeyError:
                return None
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                return None
            fh.seek(info.header_offset)
            local = fh.read(30)
            if local[:4] != b"PK\x03\x04":
                return None
            name_len, extra_len = (int.from_bytes(local[i:i + 2], "little") for i in (26, 28))
            out[k] = info.header_offset + 30 + name_len + extra_len
    return out


def unpack_npz(path: Path, sha256: str, folder: Path, keys: tuple[str, ...]) -> dict[str, Path]:
    """The ``.npy`` file of each of ``keys`` in ``path``, unpacked once into ``folder``.

    Reused while the manifest names the same source sha256 and every file is there; otherwise
    each member is streamed out in chunks (never whole in memory) and written atomically.
    """
    out = {k: folder / f"{k}.npy" for k in keys}
    man = _read_manifest(folder)
    if (man and man.get("sha256") == sha256 and man.get("version") == CACHE_VERSION
            and all(p.is_file() for p in out.values())):
        return out
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for k in keys:
                if f"{k}.npy" not in names:
                    have = sorted(n[:-4] for n in names if n.endswith(".npy"))
                    raise DataError(f"{path}: missing arrays {k} (has {', '.join(have)}); use the MedMNIST "
                                    "key layout train_images/train_labels/val_images/...")
                with zf.open(f"{k}.npy") as src, atomic_open(out[k]) as dst:
                    shutil.copyfileobj(src, dst, COPY_CHUNK)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise DataError(f"{path}: truncated or corrupt .npz ({type(exc).__name__}: {exc}); "
                        "re-download or re-create the file") from None
    manifest = {"version": CACHE_VERSION, "source": str(path.resolve()), "sha256": sha256,
                "members": sorted(keys)}
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1))
    return out


def open_rows(path: Path, start: int = 0) -> RowReader:
    """A RowReader of a ``.npy`` file (or one stored at ``start`` in a zip), with a one-line error."""
    try:
        return RowReader(path, start=start)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable .npy cache ({type(exc).__name__}: {exc}); delete the "
                        f"folder {path.parent} to rebuild it") from None
