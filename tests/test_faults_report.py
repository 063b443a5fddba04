"""Issue 10, messages / report / compare causes: every bad input is one line naming the file, the
problem and the fix (exit 2); compare counts missing metrics and pairs as failures; data text is
escaped in every Markdown output; a forged ``.verified`` marker is not trusted."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from test_baseline import make_run

from benchmarks.cli import main
from benchmarks.compare import compare_records, render_github
from benchmarks.core.errors import DataError, OncobenchError
from benchmarks.core.hashing import file_digest, verify_file
from benchmarks.records.results import SCHEMA_VERSION, load_results, record_key
from benchmarks.records.tables import write_summary
from datasets import download
from datasets.base import LoadOptions
from datasets.checksums import load_npz
from datasets.download import Remote
from datasets.registry import get_dataset

EVIL = "csv:<b>x|y</b>.csv"


def one_line_error(capsys, argv: list[str]) -> str:
    """Run the CLI, expect exit 2 and a single ``error:`` line; return it."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def rewrite(run: Path, **changes) -> Path:
    path = run / "results.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))
    return path


def loop(tmp_path: Path, name: str = "loop") -> Path:
    link = tmp_path / name
    link.symlink_to(link.name)  # points at itself
    return link


# ---------------------------------------------------------------- 17: messages
def test_baseline_save_of_a_folder_with_spaces_derives_a_name(tmp_path, capsys):
    run = make_run(tmp_path / "my run 1")
    assert main(["baseline", "save", str(run), "--dir", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "my-run-1.json").is_file()
    assert "--name" not in capsys.readouterr().err


def test_baseline_save_without_a_derivable_name_asks_for_name(tmp_path, capsys):
    run = make_run(tmp_path / "+++")
    err = one_line_error(capsys, ["baseline", "save", str(run), "--dir", str(tmp_path / "b")])
    assert "pass --name" in err and "+++" in err


def test_corrupt_results_json_says_restore_or_rerun(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    (run / "results.json").write_text('{"schema_version": 1, "records": [')
    for argv in (["report", str(run)], ["compare", str(run), str(run)], ["baseline", "save", str(run)]):
        err = one_line_error(capsys, argv)
        assert "results.json" in err and "corrupt" in err and "restore it" in err and "--output" in err


def test_newer_schema_says_upgrade_older_says_rerun(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    rewrite(run, schema_version=SCHEMA_VERSION + 1)
    err = one_line_error(capsys, ["report", str(run)])
    err = err.split("results.json: ")[1]
    assert "upgrade oncobench" in err and "re-run" not in err and "rerun" not in err
    rewrite(run, schema_version=0)
    err = one_line_error(capsys, ["report", str(run)]).split("results.json: ")[1]
    assert "rerun the benchmark with this version" in err and "oncobench version that wrote it" in err
    assert "upgrade" not in err


def test_symlink_loop_is_named_in_every_reader(tmp_path, capsys):
    link = loop(tmp_path)
    for argv in (["report", str(link)], ["compare", str(link), str(link)], ["baseline", "save", str(link)]):
        err = one_line_error(capsys, argv)
        assert "symbolic link loop" in err and "not found" not in err and "no results file" not in err
    for read in (load_results, load_npz, lambda p: verify_file(p, "0" * 64)):
        with pytest.raises(DataError, match="symbolic link loop"):
            read(link)
    with pytest.raises(DataError, match="symbolic link loop"):
        get_dataset(f"csv:{loop(tmp_path, 'data.csv')}").load(LoadOptions(label_column="label"))


# ---------------------------------------------------------------- 18: records, missing
@pytest.mark.parametrize("records", [[1, "x"], {}, [{}], [{"model": "dnn"}]])
def test_report_refuses_corrupt_records_like_compare(records, tmp_path, capsys):
    run = make_run(tmp_path / "run")
    rewrite(run, records=records)
    err = one_line_error(capsys, ["report", str(run), "--output", str(tmp_path / "out")])
    assert "results.json" in err and "corrupt" in err
    assert not (tmp_path / "out" / "report.md").exists()
    assert "corrupt" in one_line_error(capsys, ["compare", str(run), str(run)])
    assert "corrupt" in one_line_error(capsys, ["baseline", "save", str(run)])


def _rec(model: str, dataset: str, seed: int, **metrics) -> dict:
    return {"schema_version": SCHEMA_VERSION, "key": record_key(model, dataset, seed, None), "status": "ok",
            "model": model, "dataset": dataset, "seed": seed, "fold": None, **metrics}


def _json_compare(capsys, base: Path, cur: Path) -> tuple[int, dict]:
    rc = main(["compare", str(base), str(cur), "--json", "--fail-on", "quality"])
    return rc, json.loads(capsys.readouterr().out)


def test_compare_fail_on_quality_counts_missing_metrics(tmp_path, capsys):
    base = make_run(tmp_path / "base")
    doc = json.loads((base / "results.json").read_text())
    for r in doc["records"]:
        r.pop("accuracy", None)
        r.pop("f1_macro", None)
    cur = tmp_path / "cur.json"
    cur.write_text(json.dumps(doc))
    rc, out = _json_compare(capsys, base, cur)
    missing = [r for r in out["rows"] if r["verdict"] == "missing"]
    assert rc == 1 and out["summary"]["missing"] == 4 and {r["metric"] for r in missing} == {"accuracy",
                                                                                              "f1_macro"}
    assert main(["compare", str(base), str(cur), "--fail-on", "quality"]) == 1
    captured = capsys.readouterr()
    assert "missing" in captured.out and "(missing)" in captured.err


def test_compare_fail_on_quality_counts_missing_pairs(tmp_path, capsys):
    base = make_run(tmp_path / "base")
    doc = json.loads((base / "results.json").read_text())
    doc["records"] = [r for r in doc["records"] if r["model"] == "dnn"]
    cur = tmp_path / "cur.json"
    cur.write_text(json.dumps(doc))
    rc, out = _json_compare(capsys, base, cur)
    rows = [r for r in out["rows"] if r["model"] == "logreg"]
    assert rc == 1 and any(r["verdict"] == "missing" and r["metric"] == "accuracy" for r in rows), rows
    assert main(["compare", str(base), str(cur), "--format", "github", "--fail-on", "quality"]) == 1
    assert "**missing**" in capsys.readouterr().out
    # the other way round (a pair new in current) is not a failure
    rc, out = _json_compare(capsys, cur, base)
    assert rc == 0 and out["summary"]["missing"] == 0


# ---------------------------------------------------------------- 19: escaping
def _evil_records() -> list[dict]:
    return [_rec("dnn", EVIL, s, accuracy=0.9 + s / 100, f1_macro=0.9, profile="ci") for s in (0, 1, 2)]


def test_summary_md_escapes_dataset_names(tmp_path):
    records = _evil_records() + [dict(_rec("logreg", EVIL, 0), status="failed", error="<i>boom</i>")]
    path = tmp_path / "run" / "summary.md"
    write_summary(records, {"command": "run --dataset '<script>'"}, path)
    text = path.read_text()
    assert "<b>" not in text and "<i>" not in text and "<script>" not in text and "x|y" not in text
    assert "&lt;b&gt;x\\|y&lt;/b&gt;" in text


def test_compare_github_escapes_dataset_names():
    base = _evil_records()
    cur = [dict(r, accuracy=0.5) for r in base]
    text = render_github(compare_records(base, cur, baseline_label="<b>a</b>", current_label="c|d"))
    assert "<b>" not in text and "x|y" not in text and "&lt;b&gt;x\\|y&lt;/b&gt;" in text


# ---------------------------------------------------------------- 20: forged markers
def _marked(tmp_path: Path, **marker) -> tuple[Path, Remote]:
    good = b"the published file"
    path = tmp_path / "data" / "f.bin"
    path.parent.mkdir()
    path.write_bytes(b"a file that is not it")  # wrong content
    remote = Remote("f", "http://127.0.0.1:9/f.bin", "f.bin", hashlib.sha256(good).hexdigest())
    st = path.stat()
    fields = {"algo": "sha256", "digest": remote.digest, "sha256": remote.digest, "size": st.st_size,
              "mtime_ns": st.st_mtime_ns, **marker}
    (path.parent / "f.bin.verified").write_text(json.dumps(fields))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return path, remote


@pytest.mark.parametrize("marker", [
    {"sha256": "f" * 64},  # right algo/digest, a sha256 that is not the digest
    {"sha256": "not a digest"},
    {"digest": "0" * 64, "sha256": "0" * 64},  # a marker of another digest
])
def test_forged_marker_is_not_trusted(marker, tmp_path):
    path, remote = _marked(tmp_path, **marker)
    real = file_digest(path)
    assert download.sha256_of(path) == real
    assert download.sha256_of(path, remote) == real
    with pytest.raises(OncobenchError, match="mismatch"):
        download.verify(remote, path)
    assert not path.exists() and any(p.name.startswith("f.bin.corrupt-") for p in path.parent.iterdir())


def test_valid_marker_still_saves_the_hash(tmp_path, monkeypatch):
    path, remote = _marked(tmp_path)
    monkeypatch.setattr(download, "digests", lambda *a: pytest.fail("re-hashed a valid marker"))
    assert download.verify(remote, path) == remote.digest
