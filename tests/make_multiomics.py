"""Generated paired multi-omics for tests and timing: one CSV per block, a label file.

The class signal is planted in one named block (class-dependent means in its first
``informative`` features); the other blocks are noise. A ``clinical`` block mixes numbers
(with NaN) and text categories (with blanks). ``missing``: samples left out of each noise
block, so the loader's missing-block mask is exercised.

    python tests/make_multiomics.py OUT --samples 770 --blocks mrna=2000,meth=2000,mirna=1250,clinical=50
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

CLASSES = ("Basal", "Her2", "LumA")


def make_blocks(n: int, sizes: dict[str, int], signal: str, *, seed: int = 0, informative: int = 10,
                effect: float = 1.5, missing: int = 0):
    """({block: DataFrame indexed by sample ID}, labels DataFrame)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ids = [f"P{i:04d}" for i in range(n)]
    y = np.arange(n) % len(CLASSES)
    rng.shuffle(y)
    centres = rng.normal(0, effect, size=(len(CLASSES), informative))
    out = {}
    for b, p in sizes.items():
        if b.startswith("clin"):
            n_text = max(1, p // 5)
            num = rng.normal(50, 10, size=(n, p - n_text)).round(2)
            num[rng.random(num.shape) < 0.05] = np.nan
            df = pd.DataFrame(num, index=ids, columns=[f"clin_num_{j}" for j in range(p - n_text)])
            for j in range(n_text):
                col = rng.choice(["I", "II", "III", "IV"], size=n).astype(object)
                col[rng.random(n) < 0.05] = None
                df[f"clin_cat_{j}"] = col
        else:
            x = rng.normal(0, 1, size=(n, p)).astype(np.float32)
            if b == signal:
                k = min(informative, p)
                x[:, :k] += centres[y][:, :k]
            df = pd.DataFrame(x, index=ids, columns=[f"{b}_{j}" for j in range(p)])
        if missing and b != signal:
            df = df.drop(index=rng.choice(ids, missing, replace=False))
        out[b] = df
    labels = pd.DataFrame({"target": [CLASSES[c] for c in y]}, index=ids)
    return out, labels


def write_multi(folder: Path, n: int, sizes: dict[str, int], signal: str, **kw) -> str:
    """Write the blocks and labels under ``folder``; returns the ``multi:`` dataset spec."""
    folder.mkdir(parents=True, exist_ok=True)
    blocks, labels = make_blocks(n, sizes, signal, **kw)
    for b, df in blocks.items():
        df.to_csv(folder / f"{b}.csv", index_label="sample")
    labels.to_csv(folder / "target.csv", index_label="sample")
    files = ",".join(f"{b}={folder / f'{b}.csv'}" for b in blocks)
    return f"multi:{files};labels={folder / 'target.csv'}:target"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--samples", type=int, default=770)
    ap.add_argument("--blocks", default="mrna=2000,meth=2000,mirna=1250,clinical=50")
    ap.add_argument("--signal", default="mrna")
    ap.add_argument("--missing", type=int, default=20)
    args = ap.parse_args()
    sizes = {k: int(v) for k, v in (item.split("=") for item in args.blocks.split(","))}
    print(write_multi(args.out, args.samples, sizes, args.signal, missing=args.missing))


if __name__ == "__main__":
    main()
