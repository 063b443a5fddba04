"""Shared helpers for the data tests: a local HTTP server and fixture files.

Imported by the test modules (``from conftest_data import ...``); nothing here touches
the network beyond 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import socket
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate = False  # send the full Content-Length but only half the body, then hang up

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def copyfile(self, source, outputfile) -> None:
        if not self.truncate:
            return super().copyfile(source, outputfile)
        data = source.read()
        outputfile.write(data[: len(data) // 2])
        outputfile.flush()
        self.close_connection = True


@contextmanager
def serve(directory: Path, *, truncate: bool = False) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port); yields the base URL."""
    handler = type("Handler", (_Handler,), {"truncate": truncate})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler,
                                                                                 directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports on 127.0.0.1 that were free a moment ago (held together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def closed_port_url(filename: str) -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just freed)."""
    return f"http://127.0.0.1:{free_ports(1)[0]}/{filename}"


def medmnist_arrays(classes: int = 7, size: int = 28, channels: int = 3,
                    n: tuple[int, int, int] = (40, 14, 14), seed: int = 0) -> dict[str, np.ndarray]:
    """MedMNIST key layout: uint8 images (N,H,W[,3]) and (N,1) uint8 labels, every class present."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, count in zip(("train", "val", "test"), n):
        shape = (count, size, size) + ((channels,) if channels == 3 else ())
        out[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        out[f"{split}_labels"] = (np.arange(count) % classes).astype(np.uint8).reshape(-1, 1)
    return out


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def expression_frame(n_samples: int = 60, n_genes: int = 30, seed: int = 0):
    """(samples x genes DataFrame, string labels): three tumour types with signal in a few genes."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    classes = np.array(["tumour A", "tumour B", "normal"])
    y = np.arange(n_samples) % 3
    x = rng.normal(5.0, 1.0, (n_samples, n_genes))
    x[:, :3] += 3.0 * np.eye(3)[y]
    x[:, -1] = 0.0  # a never-expressed gene
    df = pd.DataFrame(x.round(4), index=[f"patient_{i}" for i in range(n_samples)],
                      columns=[f"GENE{j}" for j in range(n_genes)])
    return df, classes[y].tolist()


def write_expression_csv(path: Path, *, genes_as_rows: bool = False, n_samples: int = 60, n_genes: int = 30,
                         label: str = "diagnosis") -> Path:
    """A user's expression CSV: samples as rows with a label and id column, or genes as rows
    with the label as a row (``genes_as_rows``)."""
    df, labels = expression_frame(n_samples, n_genes)
    path.parent.mkdir(parents=True, exist_ok=True)
    if genes_as_rows:
        t = df.T.astype(object)
        t.loc[label] = labels
        t.index.name = "gene"
        t.to_csv(path)
    else:
        out = df.copy()
        out.insert(0, label, labels)
        out.index.name = "sample_id"
        out.to_csv(path)
    return path


def write_image_folder(root: Path, counts: dict[str, int], size: tuple[int, int] = (20, 20),
                       mode: str = "RGB", suffix: str = ".png", seed: int = 0) -> Path:
    """One sub-folder of images per class; class ``i`` is brighter so it is learnable."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
            arr = np.clip(rng.normal(60 + 60 * i, 20, shape), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"img_{k}{suffix}")
    return root
