"""Split the training pool (train + val) among clients, deterministically from the seed.

``iid``: a seeded shuffle cut into equal shares. ``dirichlet:ALPHA``: per class, client shares
drawn from Dirichlet(ALPHA) (small ALPHA: strong label skew), redrawn (seeded) until every client
holds at least ``MIN_SAMPLES``. ``by-column:COL``: one client per value of a site column.
Each client then keeps its own validation split, cut from its share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.config.federated import parse_partition
from benchmarks.core.errors import OncobenchError

MIN_SAMPLES = 2  # a client needs one training and one validation sample
DIRICHLET_TRIES = 20


@dataclass(frozen=True)
class ClientSplit:
    """Indices into the pool: one client's training and validation samples."""

    train: np.ndarray
    val: np.ndarray


def _iid(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    return [np.sort(part) for part in np.array_split(rng.permutation(n), k)]


def _dirichlet(y: np.ndarray, k: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray] | None:
    shares: list[list[int]] = [[] for _ in range(k)]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        cuts = (np.cumsum(rng.dirichlet([alpha] * k)) * len(idx)).astype(int)[:-1]
        for i, part in enumerate(np.split(idx, cuts)):
            shares[i] += part.tolist()
    parts = [np.sort(np.array(s, dtype=np.int64)) for s in shares]
    return parts if min(len(p) for p in parts) >= MIN_SAMPLES else None


def _by_column(sites: np.ndarray | None, column: str) -> list[np.ndarray]:
    if sites is None:
        raise OncobenchError(f"--partition by-column:{column}: this dataset has no site column "
                             f"{column!r}; use a csv: dataset with that column, or iid / dirichlet:ALPHA")
    return [np.flatnonzero(sites == s) for s in sorted(set(sites.tolist()), key=str)]


def partition(y: np.ndarray, spec: str, clients: int, seed: int, val_fraction: float,
              sites: np.ndarray | None = None) -> list[ClientSplit]:
    """Client shares of a pool with labels ``y``; impossible partitions raise ``OncobenchError``
    (exit 2) before anything trains."""
    kind, arg = parse_partition(spec)
    n = len(y)
    if kind != "by-column" and clients * MIN_SAMPLES > n:
        raise OncobenchError(f"--clients {clients}: more clients than the {n} training samples allow "
                             f"(each needs {MIN_SAMPLES}); use at most {n // MIN_SAMPLES} clients")
    rng = np.random.default_rng(seed)
    if kind == "iid":
        parts = _iid(n, clients, rng)
    elif kind == "dirichlet":
        parts = None
        for _ in range(DIRICHLET_TRIES):
            parts = _dirichlet(y, clients, float(arg), rng)
            if parts is not None:
                break
        if parts is None:
            raise OncobenchError(f"--partition {spec}: after {DIRICHLET_TRIES} seeded draws a client still "
                                 f"had fewer than {MIN_SAMPLES} samples; raise ALPHA or lower --clients")
    else:
        parts = _by_column(sites, str(arg))
        if len(parts) != clients:
            raise OncobenchError(f"--partition {spec}: the column has {len(parts)} sites, but --clients "
                                 f"{clients}; pass --clients {len(parts)}")
    empty = [i for i, p in enumerate(parts) if len(p) < MIN_SAMPLES]
    if empty:
        raise OncobenchError(f"--partition {spec}: client {empty[0]} has fewer than {MIN_SAMPLES} "
                             "samples; lower --clients or change the partition")
    out = []
    for p in parts:
        p = rng.permutation(p)
        n_val = min(len(p) - 1, max(1, int(round(val_fraction * len(p)))))
        out.append(ClientSplit(train=np.sort(p[n_val:]), val=np.sort(p[:n_val])))
    return out


def label_counts(y: np.ndarray, splits: list[ClientSplit], num_classes: int) -> list[list[int]]:
    """Per client, the training samples of each class (recorded to show the skew)."""
    return [np.bincount(y[s.train], minlength=num_classes).tolist() for s in splits]
