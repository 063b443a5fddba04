"""Generate a stand-in for the UCI "gene expression cancer RNA-Seq" archive.

Same layout as the published ``TCGA-PANCAN-HiSeq-801x20531.tar.gz``: a folder with
``data.csv`` (header ``,gene_0,...``, rows ``sample_i``, log2-scale values with many
exact zeros, written like the original, e.g. ``0.0`` and ``2.01720929003``) and
``labels.csv`` (header ``,Class``; the real labels shipped in the repository).

Run as a script to build the full-size archive and time the one-off conversion
against the cached load::

    python tests/make_uci_fixture.py /tmp/uci   # 801 x 20531
"""

from __future__ import annotations

import io
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "datasets" / "data" / "uci_rnaseq" / "labels.csv"
TOP = "TCGA-PANCAN-HiSeq-801x20531"


def real_labels(n: int) -> list[str]:
    """The first ``n`` class labels of the real labels.csv (801 in all)."""
    rows = LABELS.read_text(encoding="utf-8").splitlines()[1:]
    return [r.split(",")[1] for r in rows[:n]]


def expression(labels: list[str], n_genes: int, seed: int = 0) -> np.ndarray:
    """Log2-like expression in 0..20, float64: ~1.3% genes all zero, ~23% zeros, class-specific genes."""
    rng = np.random.default_rng(seed)
    classes = sorted(set(labels))
    y = np.array([classes.index(c) for c in labels])
    base = rng.gamma(2.0, 2.5, n_genes)
    p_zero = rng.beta(0.4, 1.6, n_genes)
    p_zero[rng.random(n_genes) < 0.013] = 1.0  # genes never expressed (zero variance)
    shift = rng.normal(0.0, 2.5, (len(classes), n_genes)) * (rng.random(n_genes) < 0.05)
    x = base + shift[y] + rng.normal(0.0, 1.0, (len(labels), n_genes))
    x[rng.random(x.shape) < p_zero] = 0.0
    return np.clip(x, 0.0, 20.0)  # log2(RSEM + 1) values of the real set lie in 0..~20


def csv_text(x: np.ndarray, labels: list[str]) -> tuple[bytes, bytes]:
    """(data.csv, labels.csv) bytes in the published format."""
    n, g = x.shape
    out = io.StringIO()
    out.write("," + ",".join(f"gene_{j}" for j in range(g)) + "\n")
    for i in range(n):
        cells = np.char.mod("%.11f", x[i])
        cells[x[i] == 0] = "0.0"
        out.write(f"sample_{i}," + ",".join(cells.tolist()) + "\n")
    lab = ",Class\n" + "".join(f"sample_{i},{c}\n" for i, c in enumerate(labels))
    return out.getvalue().encode(), lab.encode()


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_500_000_000
    tar.addfile(info, io.BytesIO(data))


def write_archive(dest: Path, data: bytes, labels: bytes, top: str = TOP) -> Path:
    """A ``.tar.gz`` with ``top/`` holding ``data.csv`` and ``labels.csv``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w:gz") as tar:
        d = tarfile.TarInfo(top)
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1_500_000_000
        tar.addfile(d)
        add_bytes(tar, f"{top}/data.csv", data)
        add_bytes(tar, f"{top}/labels.csv", labels)
    return dest


def make_uci_archive(dest: Path, n_samples: int = 801, n_genes: int = 20531, seed: int = 0) -> Path:
    """Write a UCI-layout archive with the first ``n_samples`` real labels."""
    labels = real_labels(n_samples)
    data, lab = csv_text(expression(labels, n_genes, seed), labels)
    return write_archive(dest, data, lab)


def main(argv: list[str]) -> int:
    """Build the full-size archive, convert it once, load the cache; print the timings."""
    import json
    from dataclasses import replace

    from benchmarks.core.hashing import file_digest
    from datasets import registry, uci_rnaseq
    from datasets.base import LoadOptions

    root = Path(argv[0] if argv else "/tmp/oncobench-uci-full")
    archive = root / "uci_rnaseq" / uci_rnaseq.REMOTE.filename
    t0 = time.perf_counter()
    make_uci_archive(archive)
    gen_s = time.perf_counter() - t0
    spec = registry.get_dataset(uci_rnaseq.NAME)
    remote = replace(spec.remotes[0], digest=file_digest(archive))
    registry._REGISTRY[spec.name] = replace(spec, remotes=(remote,))  # expect the generated archive
    cache = uci_rnaseq.cache_dir(root)
    for f in cache.glob("*"):
        f.unlink()
    options = LoadOptions(data_dir=root)
    t0 = time.perf_counter()
    uci_rnaseq.fetch(options)  # verify + parse data.csv + write the float32 cache
    convert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    x, _, _, _ = uci_rnaseq.read_cache(cache, remote.digest)
    cached_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = uci_rnaseq.load(options)
    load_s = time.perf_counter() - t0
    with tarfile.open(archive) as tar:
        csv_mb = tar.getmember(f"{TOP}/data.csv").size / 1e6
    print(json.dumps({
        "shape": list(x.shape),
        "generate_s": round(gen_s, 1),
        "data_csv_mb": round(csv_mb, 1),
        "archive_mb": round(archive.stat().st_size / 1e6, 1),
        "cache_mb": round(sum(f.stat().st_size for f in cache.iterdir()) / 1e6, 1),
        "convert_s (verify + parse + write cache)": round(convert_s, 2),
        "cached_read_s": round(cached_s, 3),
        "full_load_s (cached read + split + preprocess)": round(load_s, 2),
        "n_features_after_preprocess": ds.input_shape[0],
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main(sys.argv[1:]))
