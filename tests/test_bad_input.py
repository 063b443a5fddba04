"""Every kind of bad data fails through the real CLI with one line naming the file, the
problem and the fix, exit code 2, no traceback, and nothing unpickled or silently reused."""

from __future__ import annotations

import pathlib
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from conftest_data import closed_port_url, medmnist_arrays, write_image_folder, write_npz
from make_uci_fixture import make_uci_archive
from spec_override import override_spec

from benchmarks.cli import main
from datasets import uci_rnaseq

RUN = ["run", "--model", "logreg", "--profile", "quick"]


def _csv(tmp: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def _table(rows: int = 12, classes: tuple[str, ...] = ("tumour", "normal")) -> list[list[str]]:
    rng = np.random.default_rng(0)
    return [[f"s{i}", classes[i % len(classes)], *(f"{v:.3f}" for v in rng.normal(size=3))]
            for i in range(rows)]


def _write_table(tmp: Path, table: list[list[str]]) -> Path:
    head = "id,label,ERBB2,ESR1,TP53\n"
    return _csv(tmp, head + "".join(",".join(r) + "\n" for r in table))


def _with_cell(tmp: Path, row: int, col: int, value: str) -> Path:
    table = _table()
    table[row][col] = value
    return _write_table(tmp, table)


def _pickled_npz(tmp: Path) -> Path:
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    arrays["train_labels"] = np.array([_Evil(tmp / "pwned")] * 8, dtype=object)
    return write_npz(tmp / "evil.npz", arrays)


class _Evil:
    """Unpickling this would create a file: loading must never unpickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _mixed_npz(tmp: Path) -> Path:
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    arrays["test_images"] = np.zeros((4, 32, 32), np.uint8)
    return write_npz(tmp / "mixed.npz", arrays)


def _out_of_range_npz(tmp: Path) -> Path:
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    arrays["class_names"] = np.array(["benign", "malignant"])
    arrays["val_labels"][0] = 2
    return write_npz(tmp / "labels.npz", arrays)


def _truncated_npz(tmp: Path) -> Path:
    path = write_npz(tmp / "cut.npz", medmnist_arrays(classes=2, channels=1, n=(8, 4, 4)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _mixed_folder(tmp: Path) -> Path:
    root = write_image_folder(tmp / "imgs", {"benign": 4, "malignant": 4}, size=(20, 20))
    write_image_folder(tmp / "imgs", {"malignant": 1}, size=(24, 18), suffix=".jpeg", seed=1)
    return root


CSV_OPTS = ["--label-column", "label", "--id-column", "id"]

# case id -> (build(tmp) -> argv after RUN, message regex)
CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "missing file": (lambda t: ["--dataset", f"csv:{t / 'nope.csv'}", *CSV_OPTS],
                     r"nope\.csv: file not found; check the path given as --dataset csv:PATH"),
    "empty file": (lambda t: ["--dataset", f"csv:{_csv(t, '')}", *CSV_OPTS],
                   r"data\.csv: file is empty; point --dataset csv:PATH at a file with data"),
    "truncated npz": (lambda t: ["--dataset", f"npz:{_truncated_npz(t)}"],
                      r"cut\.npz: truncated or corrupt \.npz .*re-download or re-create the file"),
    "pickled npz is not loaded": (lambda t: ["--dataset", f"npz:{_pickled_npz(t)}"],
                                  r"evil\.npz: arrays train_labels hold pickled Python objects, which "
                                  r"oncobench never loads; save numeric arrays"),
    "missing label column": (lambda t: ["--dataset", f"csv:{_write_table(t, _table())}",
                                        "--label-column", "Class"],
                             r"data\.csv: no label column 'Class' \(columns: id, label, ERBB2, ESR1, TP53\); "
                             r"pass --label-column with one of them"),
    "no label column given": (lambda t: ["--dataset", f"csv:{_write_table(t, _table())}"],
                              r"data\.csv: say which column holds the class labels with --label-column NAME"),
    "non-numeric feature column": (
        lambda t: ["--dataset", f"csv:{_with_cell(t, 4, 3, 'high')}", *CSV_OPTS],
        r"data\.csv: non-numeric feature column 'ESR1' \(e\.g\. 'high' at sample s4\); "
        r"drop the column or name it with --id-column / --label-column"),
    "class too small for the split": (
        lambda t: ["--dataset", f"csv:{_write_table(t, _table(13, ('a',) * 6 + ('b',) * 6 + ('rare',)))}",
                   *CSV_OPTS],
        r"data\.csv: class rare \(1\) has fewer than 3 samples, too few for a stratified split"),
    "class too small for cv": (lambda t: ["--dataset", f"csv:{_write_table(t, _table())}", *CSV_OPTS,
                                          "--cv", "10"],
                               r"data\.csv: class normal \(6\), tumour \(6\) has too few samples for --cv 10 "
                               r"\(needs more than 10\); lower --cv or add samples"),
    "images of mixed shapes (folder)": (
        lambda t: ["--dataset", f"folder:{_mixed_folder(t)}"],
        r"imgs: images of mixed shapes \(.*20x20.*24x18\); pass --image-size N"),
    "images of mixed shapes (npz)": (
        lambda t: ["--dataset", f"npz:{_mixed_npz(t)}"],
        r"mixed\.npz: images of mixed shapes across splits .*resize them to one"),
    "labels out of range": (
        lambda t: ["--dataset", f"npz:{_out_of_range_npz(t)}"],
        r"labels\.npz \(val_labels\): labels out of range \(found 0\.\.2, expected 0\.\.1\)"),
    "NaN with --impute error": (
        lambda t: ["--dataset", f"csv:{_with_cell(t, 2, 2, '')}", *CSV_OPTS, "--impute", "error"],
        r"data\.csv: 1 empty or NaN cells \(e\.g\. feature 'ERBB2' at sample s2\); fill them "
        r"or pass --impute median\|mean\|zero"),
    "infinite values": (lambda t: ["--dataset", f"csv:{_with_cell(t, 7, 4, 'inf')}", *CSV_OPTS],
                        r"data\.csv: 1 infinite values \(e\.g\. feature 'TP53' at sample s7\); replace them"),
}


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and err.rstrip().endswith(lines[0]), err
    return lines[0]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2(case, tmp_path, capsys):
    build, message = CASES[case]
    data = tmp_path / "in"
    data.mkdir()
    rc = main(RUN + build(data) + ["--output", str(tmp_path / "out")])
    line = _one_line_error(capsys)
    assert rc == 2
    assert re.search(message, line), line
    assert not (data / "pwned").exists()


def test_checksum_mismatch_moves_the_bad_file_aside(tmp_path, capsys):
    placed = tmp_path / "data" / "medmnist" / "dermamnist.npz"
    placed.parent.mkdir(parents=True)
    placed.write_bytes(b"PK\x03\x04 not the zenodo file")
    rc = main(RUN + ["--dataset", "dermamnist", "--data-dir", str(tmp_path / "data"),
                     "--output", str(tmp_path / "out")])
    line = _one_line_error(capsys)
    assert rc == 2
    assert f"error: {placed}: md5 mismatch (expected 0744692d530f" in line
    assert "moved the bad file to dermamnist.npz.corrupt-" in line and "download dermamnist" in line
    assert not placed.exists()
    assert len(list(placed.parent.glob("dermamnist.npz.corrupt-*"))) == 1  # kept for inspection


def test_truncated_archive_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    archive = make_uci_archive(tmp_path / "data" / "uci_rnaseq" / uci_rnaseq.REMOTE.filename, 60, 20)
    archive.write_bytes(archive.read_bytes()[:-200])
    override_spec(monkeypatch, "uci_rnaseq", digest_of=archive)
    rc = main(RUN + ["--dataset", "uci_rnaseq", "--data-dir", str(tmp_path / "data"),
                     "--output", str(tmp_path / "out")])
    line = _one_line_error(capsys)
    assert rc == 2 and f"{archive}: truncated or corrupt archive" in line and "download it again" in line


def test_offline_remote_dataset_says_what_to_fetch(tmp_path, capsys, monkeypatch):
    remote = override_spec(monkeypatch, "uci_rnaseq", url=closed_port_url("x.tar.gz")).remotes[0]
    rc = main(RUN + ["--dataset", "uci_rnaseq", "--data-dir", str(tmp_path / "data"),
                     "--output", str(tmp_path / "out")])
    line = _one_line_error(capsys)
    target = tmp_path / "data" / "uci_rnaseq" / uci_rnaseq.REMOTE.filename
    assert rc == 2 and "cannot download uci_rnaseq" in line
    assert f"download {remote.url} by hand and place it at {target}" in line
