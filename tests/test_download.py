"""Downloads against a local HTTP server: success, checksum mismatch, truncated transfer,
server down, a file placed by hand, safe archive extraction, and the ``download`` command."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest_data import closed_port_url, medmnist_arrays, serve, write_npz
from make_uci_fixture import make_uci_archive
from spec_override import override_spec

from benchmarks.cli import main
from benchmarks.core.errors import ChecksumError, DataError, OncobenchError
from benchmarks.core.hashing import file_digest
from datasets import download, uci_rnaseq
from datasets.base import LoadOptions
from datasets.download import Progress, Remote
from datasets.registry import get_dataset
from datasets.spec import OfficialSplit

FIXTURE_SPLIT = OfficialSplit(train=40, val=14, test=14)  # conftest_data.medmnist_arrays


@pytest.fixture
def npz_file(tmp_path) -> Path:
    """A MedMNIST-style dermamnist.npz (RGB, 7 classes) in a folder the server publishes."""
    return write_npz(tmp_path / "www" / "dermamnist.npz", medmnist_arrays())


def _remote(url: str, path: Path, algo: str = "md5", digest: str | None = None) -> Remote:
    return Remote(name="dermamnist", url=url, filename=path.name, digest=digest or file_digest(path, algo),
                  algo=algo, subdir="medmnist")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success_verifies_and_marks(npz_file, tmp_path, capsys):
    root = tmp_path / "data"
    with serve(npz_file.parent) as base:
        remote = _remote(f"{base}/{npz_file.name}?download=1", npz_file)
        path = download.fetch(remote, root)
    assert path == root / "medmnist" / "dermamnist.npz"
    assert path.read_bytes() == npz_file.read_bytes()
    assert _leftovers(path.parent) == ["dermamnist.npz", "dermamnist.npz.verified"]
    assert download.sha256_of(path) == file_digest(npz_file)
    assert "\r" not in capsys.readouterr().err  # no progress bar when stderr is not a terminal
    # cached: the server is gone, the file is used as is
    assert download.fetch(replace(remote, url=closed_port_url(npz_file.name)), root) == path


def test_checksum_mismatch_on_download_moves_file_aside(npz_file, tmp_path):
    root = tmp_path / "data"
    with serve(npz_file.parent) as base:
        remote = _remote(f"{base}/{npz_file.name}", npz_file, digest="0" * 32)
        moved = r"fails its md5 check .*moved it to .*dermamnist\.npz\.corrupt-"
        with pytest.raises(ChecksumError, match=moved):
            download.fetch(remote, root)
    names = _leftovers(root / "medmnist")
    assert len(names) == 1 and names[0].startswith("dermamnist.npz.corrupt-")  # kept, never reused
    assert not remote.path(root).exists()


def test_truncated_transfer_is_discarded(npz_file, tmp_path):
    root = tmp_path / "data"
    with serve(npz_file.parent, truncate=True) as base:
        remote = _remote(f"{base}/{npz_file.name}", npz_file)
        with pytest.raises(DataError, match=r"was cut short \(\d+ of \d+ bytes\)"):
            download.fetch(remote, root)
    assert _leftovers(root / "medmnist") == []  # no partial file under the final name


def test_server_down_says_what_to_fetch_and_where(npz_file, tmp_path):
    root = tmp_path / "data"
    remote = _remote(closed_port_url(npz_file.name), npz_file)
    t0 = time.perf_counter()
    with pytest.raises(DataError) as err:
        download.fetch(remote, root, timeout=5)
    assert time.perf_counter() - t0 < 5
    msg = str(err.value)
    assert remote.url in msg and str(remote.path(root)) in msg and remote.digest in msg
    assert "\n" not in msg and _leftovers(root / "medmnist") == []


def test_http_error_names_the_status(npz_file, tmp_path):
    with serve(npz_file.parent) as base:
        remote = _remote(f"{base}/missing.npz", npz_file)
        with pytest.raises(DataError, match=r"cannot download dermamnist \(HTTP 404 .*place it at "):
            download.fetch(remote, tmp_path / "data")


def test_data_folder_from_environment_or_option(tmp_path, monkeypatch):
    monkeypatch.setenv("ONCOBENCH_DATA", str(tmp_path / "env"))
    assert download.root_of(LoadOptions()) == tmp_path / "env"
    assert download.root_of(LoadOptions(data_dir=tmp_path / "opt")) == tmp_path / "opt"
    monkeypatch.delenv("ONCOBENCH_DATA")
    monkeypatch.setenv("ONCOBENCH_CACHE", str(tmp_path / "cache"))
    assert download.root_of(LoadOptions()) == tmp_path / "cache" / "data"


def _place_by_hand(npz_file, tmp_path, data: bytes | None = None):
    """A remote whose server is down, and the file a user put in the data folder by hand."""
    root = tmp_path / "data"
    remote = _remote(closed_port_url(npz_file.name), npz_file)
    placed = remote.path(root)
    placed.parent.mkdir(parents=True)
    placed.write_bytes(npz_file.read_bytes() if data is None else data)
    return root, remote, placed


def test_manually_placed_file_is_used_without_network(npz_file, tmp_path):
    root, remote, placed = _place_by_hand(npz_file, tmp_path)
    assert download.is_present(remote, root)
    assert download.fetch(remote, root) == placed
    assert (placed.parent / "dermamnist.npz.verified").exists()


def test_manually_placed_bad_file_is_moved_aside(npz_file, tmp_path):
    root, remote, placed = _place_by_hand(npz_file, tmp_path, npz_file.read_bytes()[:-10])
    moved = r"md5 mismatch .*moved the bad file to dermamnist\.npz\.corrupt-"
    with pytest.raises(ChecksumError, match=moved):
        download.fetch(remote, root)
    assert not placed.exists()
    assert any(n.startswith("dermamnist.npz.corrupt-") for n in _leftovers(placed.parent))


def test_changed_file_is_checked_again(npz_file, tmp_path):
    root, remote, placed = _place_by_hand(npz_file, tmp_path)
    download.fetch(remote, root)  # verified: marker written
    placed.write_bytes(placed.read_bytes() + b"x")  # size and mtime change: the marker is stale
    with pytest.raises(ChecksumError):
        download.fetch(remote, root)


def test_progress_bar_draws_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress("x.npz", 2_000_000, stream)
        bar.update(1_000_000)
        bar.update(1_000_000)
        bar.close()
    assert pipe.getvalue() == ""
    assert "100%" in tty.getvalue() and "2.0/2.0 MB" in tty.getvalue() and tty.getvalue().endswith("\n")


def _serve_dermamnist(monkeypatch, npz_file: Path, url: str):
    """dermamnist's remote at ``url`` with the fixture's md5 and split sizes."""
    return override_spec(monkeypatch, "dermamnist", url=url, digest_of=npz_file, split=FIXTURE_SPLIT)


def test_medmnist_remote_size_downloads_and_loads(npz_file, tmp_path, monkeypatch):
    spec = get_dataset("dermamnist")
    options = LoadOptions(data_dir=tmp_path / "data")
    assert not spec.bundled and not spec.available(options)
    assert spec.how_to_get == "python -m benchmarks download dermamnist"
    assert spec.remotes[0].url == "https://zenodo.org/records/10519652/files/dermamnist.npz?download=1"
    with serve(npz_file.parent) as base:
        spec = _serve_dermamnist(monkeypatch, npz_file, f"{base}/{npz_file.name}?download=1")
        ds = spec.load(options)
    assert spec.available(options)
    assert ds.input_shape == (28, 28, 3) and ds.num_classes == 7 and len(ds.train) == 40
    assert ds.provenance.files == {"dermamnist.npz": file_digest(npz_file)}
    with pytest.raises(OncobenchError, match="official split; --cv applies to"):
        spec.load(replace(options, cv_folds=5))


def test_download_command_fetches_and_reports(npz_file, tmp_path, monkeypatch, capsys):
    with serve(npz_file.parent) as base:
        _serve_dermamnist(monkeypatch, npz_file, f"{base}/{npz_file.name}?download=1")
        rc = main(["download", "dermamnist", "breastmnist", "--data-dir", str(tmp_path / "data")])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"dermamnist: {tmp_path / 'data' / 'medmnist' / 'dermamnist.npz'}" in out
    assert "breastmnist: ships with oncobench; nothing to download" in out


def test_download_command_offline_is_one_line_exit_2(npz_file, tmp_path, monkeypatch, capsys):
    _serve_dermamnist(monkeypatch, npz_file, closed_port_url(npz_file.name))
    rc = main(["download", "dermamnist", "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: cannot download dermamnist")
    assert f"place it at {tmp_path / 'data' / 'medmnist' / 'dermamnist.npz'}" in err


def test_download_uci_archive_and_convert(tmp_path, monkeypatch, capsys):
    www = tmp_path / "www"
    archive = make_uci_archive(www / uci_rnaseq.REMOTE.filename, n_samples=60, n_genes=40)
    root = tmp_path / "data"
    with serve(www) as base:
        override_spec(monkeypatch, "uci_rnaseq", url=f"{base}/{archive.name}", digest_of=archive)
        assert not get_dataset("uci_rnaseq").available(LoadOptions(data_dir=root))
        assert main(["download", "uci_rnaseq", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert str(root / "uci_rnaseq" / archive.name) in out and "expression.npy" in out
    assert get_dataset("uci_rnaseq").available(LoadOptions(data_dir=root))


def _tar_with(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(data) if member.isfile() else 0
        tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "ok/../../evil.txt"])
def test_archive_with_unsafe_paths_is_rejected(tmp_path, name):
    archive = _tar_with(tmp_path / "bad.tar.gz", tarfile.TarInfo(name))
    with pytest.raises(DataError, match=r"unsafe member path .*refusing to extract"):
        with download.open_archive(archive):
            pass
    assert not (tmp_path.parent / "evil.txt").exists()


def test_archive_with_link_is_rejected(tmp_path):
    link = tarfile.TarInfo("TCGA/data.csv")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = _tar_with(tmp_path / "bad.tar.gz", link)
    with pytest.raises(DataError, match="is a link or special file"):
        with download.open_archive(archive):
            pass
