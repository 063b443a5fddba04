"""Issue 10, data-input causes: each hostile-but-realistic input either loads correctly
(true bit depth, stripped labels) or fails at load time with one short line, exit code 2."""

from __future__ import annotations

import builtins
import bz2
import gzip
import lzma
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest_data import medmnist_arrays, write_image_folder, write_npz

from benchmarks.cli import main
from benchmarks.core.errors import OncobenchError
from datasets.base import LoadOptions
from datasets.registry import get_dataset

OPTS = LoadOptions(label_column="label", id_column="id")


def _fails(name: str, options: LoadOptions = OPTS) -> str:
    """The one-line message ``name`` fails to load with (any other exception fails the test)."""
    with pytest.raises(OncobenchError) as info:
        get_dataset(name).load(options)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 300, msg
    return msg


def _value(i: int, j: int) -> str:
    return f"{(i * 7 + j * 3) % 11 + 0.5 * (i % 2)}"


def _rows(n: int = 24, labels=None, value=_value) -> list[list]:
    labels = labels or [("tumour", "normal")[i % 2] for i in range(n)]
    return [[f"s{i}", labels[i], *(value(i, j) for j in range(3))] for i in range(n)]


def _text(rows: list[list], sep: str = ",", head: str = "id,label,G1,G2,G3") -> str:
    return head.replace(",", sep) + "\n" + "".join(sep.join(map(str, r)) + "\n" for r in rows)


def _csv(tmp: Path, text: str | bytes, name: str = "d.csv") -> Path:
    path = tmp / name
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


# ---------------------------------------------------------------- cause 2: 16-bit PNG
def test_16bit_png_folder_is_scaled_by_its_true_range(tmp_path):
    from PIL import Image

    for c, level in (("dark", 1000), ("bright", 60000)):
        (tmp_path / "f" / c).mkdir(parents=True)
        for k in range(6):
            arr = np.full((8, 8), level + 10 * k, dtype=np.uint16)
            Image.fromarray(arr).save(tmp_path / "f" / c / f"{k}.png")
    ds = get_dataset(f"folder:{tmp_path / 'f'}").load(LoadOptions())
    x = np.concatenate([ds.train.x, ds.val.x, ds.test.x])
    assert x.min() >= 0 and x.max() <= 1
    means = sorted(float(v) for v in x.reshape(len(x), -1).mean(axis=1))
    assert means[0] < 0.02 and means[-1] > 0.9  # not every pixel 1.0
    assert ds.info["source_bit_depth"] == 16
    ds8 = get_dataset(f"folder:{write_image_folder(tmp_path / 'g', {'a': 5, 'b': 5}, mode='L')}").load(
        LoadOptions())
    assert ds8.info["source_bit_depth"] == 8


# ---------------------------------------------------------------- cause 3: wide npz pixels
def test_npz_uint16_images_are_scaled_by_dtype(tmp_path):
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    for s in ("train", "val", "test"):
        arrays[f"{s}_images"] = arrays[f"{s}_images"].astype(np.uint16) * 257
    ds = get_dataset(f"npz:{write_npz(tmp_path / 'w.npz', arrays)}").load(LoadOptions())
    assert 0.9 < ds.train.floats().max() <= 1.0 and ds.info["source_bit_depth"] == 16


@pytest.mark.parametrize("dtype,value,expect", [
    (np.int32, 254000, "outside 0..65535"),
    (np.int64, -5, "outside 0..65535"),
    (np.float32, 300.5, "outside [0, 1]"),
    (np.float64, -0.5, "outside [0, 1]"),
])
def test_npz_pixels_outside_their_range_are_refused(tmp_path, dtype, value, expect):
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    arrays["train_images"] = arrays["train_images"].astype(dtype)
    arrays["train_images"][0, 0, 0] = value
    assert expect in _fails(f"npz:{write_npz(tmp_path / 'w.npz', arrays)}", LoadOptions())


# ---------------------------------------------------------------- cause 4: no usable features
@pytest.mark.parametrize("cell", ["7", ""])
def test_csv_with_only_constant_or_empty_features_is_a_data_error(tmp_path, cell):
    path = _csv(tmp_path, _text(_rows(value=lambda i, j: cell)))
    assert "no usable features" in _fails(f"csv:{path}")


# ---------------------------------------------------------------- cause 5: compressed inputs
def _compressed(tmp: Path, kind: str) -> Path:
    text = _text(_rows()).encode()
    if kind == "truncated .gz":
        return _csv(tmp, gzip.compress(text)[:40], "d.csv.gz")
    if kind == "plain text .gz":
        return _csv(tmp, text, "d.csv.gz")
    if kind == "junk .bz2":
        return _csv(tmp, b"BZh9" + b"junk" * 50, "d.csv.bz2")
    if kind == "truncated .bz2":
        return _csv(tmp, bz2.compress(text)[:50], "d.csv.bz2")
    if kind == "junk .xz":
        return _csv(tmp, b"\xfd7zXZ\x00" + b"junk" * 50, "d.csv.xz")
    if kind == "truncated .xz":
        return _csv(tmp, lzma.compress(text)[:60], "d.csv.xz")
    if kind == "junk .zst":
        return _csv(tmp, b"(\xb5/\xfd" + b"junk" * 50, "d.csv.zst")
    return _csv(tmp, b"PK\x03\x04junk" * 10, "d.csv.zip")


COMPRESSED = ["truncated .gz", "plain text .gz", "junk .bz2", "truncated .bz2", "junk .xz", "truncated .xz",
              "junk .zst", "junk .zip"]


@pytest.mark.parametrize("kind", COMPRESSED)
def test_bad_compressed_csv_is_one_line(tmp_path, kind):
    path = _compressed(tmp_path, kind)
    msg = _fails(f"csv:{path}")
    assert str(path) in msg


# ---------------------------------------------------------------- cause 7: unreadable files
@pytest.mark.parametrize("kind", ["csv", "npz", "folder"])
def test_unreadable_file_says_permission_denied(tmp_path, monkeypatch, kind):
    if kind == "csv":
        path = _csv(tmp_path, _text(_rows()))
        target = path
    elif kind == "npz":
        path = target = write_npz(tmp_path / "w.npz", medmnist_arrays(classes=2, channels=1, n=(8, 4, 4)))
    else:
        path = write_image_folder(tmp_path / "f", {"a": 4, "b": 4})
        target = path / "a" / "img_0.png"
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if str(file) == str(target):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    msg = _fails(f"{kind}:{path}", OPTS if kind == "csv" else LoadOptions())
    assert "permission denied" in msg and str(target) in msg


# ---------------------------------------------------------------- cause 8: npz that is not an npz
def test_npy_named_npz_and_string_images_are_refused(tmp_path):
    npy = tmp_path / "plain.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.zeros((4, 8, 8), np.uint8))
    assert "single .npy array, not an .npz" in _fails(f"npz:{npy}", LoadOptions())
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    arrays["train_images"] = np.full(arrays["train_images"].shape, "a")
    msg = _fails(f"npz:{write_npz(tmp_path / 's.npz', arrays)}", LoadOptions())
    assert "not numbers" in msg
    junk = _csv(tmp_path, b"\x80\x04 not a zip file at all" * 4, "junk.npz")
    msg = _fails(f"npz:{junk}", LoadOptions())
    assert "allow_pickle" not in msg and "not an .npz" in msg


# ---------------------------------------------------------------- cause 9: image folders
def _png_header(path: Path, w: int, h: int, color: int = 0) -> Path:
    """A PNG that declares w x h pixels (colour type 0 gray, 2 RGB); nothing is decoded before the
    size checks."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) +
                     chunk(b"IEND", b""))
    return path


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    root = write_image_folder(tmp_path / "f", {"a": 4, "b": 4})
    _png_header(root / "a" / "bomb.png", 20000, 20000)
    msg = _fails(f"folder:{root}", LoadOptions(image_size=28))
    assert "bomb.png" in msg and "decompression bomb" in msg


def test_image_too_large_to_decode_is_refused_before_decoding(tmp_path):
    root = write_image_folder(tmp_path / "f", {"a": 4, "b": 4})
    _png_header(root / "a" / "huge.png", 10000, 10000, color=2)
    msg = _fails(f"folder:{root}", LoadOptions(image_size=28))
    assert "a 10000x10000 RGB PNG image needs 381 MiB to decode (limit 128 MiB)" in msg


@pytest.mark.parametrize("size", [-1, 0, 5000])
def test_image_size_out_of_range_is_refused(tmp_path, size):
    root = write_image_folder(tmp_path / "f", {"a": 4, "b": 4})
    msg = _fails(f"folder:{root}", LoadOptions(image_size=size))
    assert f"--image-size {size}: must be 1..1024" in msg
    npz = write_npz(tmp_path / "w.npz", medmnist_arrays(classes=2, channels=1, n=(8, 4, 4)))
    assert "--image-size" in _fails(f"npz:{npz}", LoadOptions(image_size=size))


# ---------------------------------------------------------------- cause 12: overflowing values
@pytest.mark.parametrize("value", ["1e308", "-1e308", "3e38"])
def test_overflowing_feature_values_are_a_data_error(tmp_path, value):
    rows = _rows()
    rows[3][2] = value
    assert "too large" in _fails(f"csv:{_csv(tmp_path, _text(rows))}")


# ---------------------------------------------------------------- cause 14: labels and ids
def test_label_whitespace_is_stripped_and_said(tmp_path):
    labels = [(" A", "A", "A ", "B")[i % 4] for i in range(24)]
    ds = get_dataset(f"csv:{_csv(tmp_path, _text(_rows(labels=labels)))}").load(OPTS)
    assert ds.class_names == ["A", "B"]
    assert "whitespace stripped (12 labels changed)" in ds.info["labels"]


def test_duplicate_ids_are_refused(tmp_path):
    rows = _rows()
    rows[5][0] = rows[9][0] = "s1"
    msg = _fails(f"csv:{_csv(tmp_path, _text(rows))}")
    assert "duplicate sample ids in 'id'" in msg and "'s1'" in msg


def test_continuous_labels_and_one_sample_classes_are_named_briefly(tmp_path):
    labels = [f"{0.37 * i + 0.01:.3f}" for i in range(60)]
    msg = _fails(f"csv:{_csv(tmp_path, _text(_rows(60, labels)))}")
    assert "looks continuous" in msg
    labels = [f"patient_{i}" for i in range(3000)]
    msg = _fails(f"csv:{_csv(tmp_path, _text(_rows(3000, labels)), 'ids.csv')}")
    assert "3000 classes for 3000 samples" in msg


def test_too_small_class_list_is_capped(tmp_path):
    labels = ["a"] * 40 + ["b"] * 40 + [f"rare{i}" for i in range(30)]
    msg = _fails(f"csv:{_csv(tmp_path, _text(_rows(110, labels)))}")
    assert "(30 in all)" in msg


# ---------------------------------------------------------------- cause 15: a huge cell
def test_huge_cell_is_quoted_briefly(tmp_path):
    rows = _rows()
    rows[2][3] = "x" * 5_000_000
    msg = _fails(f"csv:{_csv(tmp_path, _text(rows))}")
    assert "…(5000000 chars)" in msg


# ---------------------------------------------------------------- cause 16: bad npz content
def _npz_with(tmp: Path, **changes) -> Path:
    arrays = medmnist_arrays(classes=2, channels=1, n=(8, 4, 4))
    for key, fn in changes.items():
        arrays[key] = fn(arrays[key])
    return write_npz(tmp / "w.npz", arrays)


@pytest.mark.parametrize("change,expect", [
    ({"train_images": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 3, np.nan, a / 255.0)},
     "NaN or infinite pixel"),
    ({"train_labels": lambda a: np.zeros_like(a)}, "single class"),
    ({"test_images": lambda a: a[:0], "test_labels": lambda a: a[:0]}, "test_images is empty"),
    ({"val_labels": lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, 10 ** 6, a.astype(np.int64))},
     "implying 1000001 classes"),
    ({"train_labels": lambda a: np.eye(2, dtype=np.uint8)[a.reshape(-1)]}, "labels have shape (8, 2)"),
])
def test_bad_npz_content_is_a_load_time_data_error(tmp_path, change, expect):
    assert expect in _fails(f"npz:{_npz_with(tmp_path, **change)}", LoadOptions())


# ---------------------------------------------------------------- cause 17: weak messages
def test_semicolon_csv_suggests_sep(tmp_path):
    msg = _fails(f"csv:{_csv(tmp_path, _text(_rows(), sep=';'))}")
    assert "pass --sep ';'" in msg and "--transpose" not in msg


def test_latin1_csv_gives_an_encoding_hint(tmp_path):
    text = _text(_rows(labels=["tumeur bénigne", "normal"] * 12))
    msg = _fails(f"csv:{_csv(tmp_path, text.encode('latin-1'))}")
    assert "not UTF-8" in msg and "0xe9" in msg


def test_duplicate_label_header_is_named(tmp_path):
    msg = _fails(f"csv:{_csv(tmp_path, _text(_rows(), head='id,label,label,G2,G3'))}")
    assert "duplicate column names 'label'" in msg and "label.1" not in msg


def test_all_comma_row_is_named_by_line(tmp_path):
    text = _text(_rows()) + ",,,,\n"
    msg = _fails(f"csv:{_csv(tmp_path, text)}")
    assert "line 26" in msg and "nan" not in msg


def test_symlink_loop_is_not_file_not_found(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    msg = _fails(f"csv:{tmp_path / 'a.csv'}")
    assert "symbolic link" in msg and "not found" not in msg


# ---------------------------------------------------------------- end to end
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    path = _csv(tmp_path, _text(_rows(), sep=";"))
    rc = main(["run", "--model", "logreg", "--profile", "quick", "--dataset", f"csv:{path}",
               "--label-column", "label", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert rc == 2 and "Traceback" not in err and len(lines) == 1 and err.rstrip().endswith(lines[0])
    assert "pass --sep ';'" in lines[0]
