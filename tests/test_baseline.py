"""baseline save / list: the stored file (records, machine metadata, slimmed scores), names,
overwrite protection, loading either side of a comparison, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.core.errors import OncobenchError
from benchmarks.records.baseline import BASELINE_KIND, describe_machine, load_side, machine_id, save_baseline
from benchmarks.records.results import SCHEMA_VERSION, ResultsStore, record_key

ENV = {"device_kind": "CPU", "device_name": "Test CPU", "cpu_model": "Test CPU", "cpu_count": 2, "gpus": [],
       "tensorflow": "2.21.0", "keras": "3.15.0", "python": "3.11.7", "platform": "Linux", "hostname": "h",
       "control": {"ref_model_samples_per_s": 20000.0, "matmul_gflops": 100.0}}


def make_run(path: Path, seeds=(0, 1, 2), failed_seed: int | None = None, env: dict | None = ENV) -> Path:
    store = ResultsStore(path, {"profile": "ci", "command": "python -m benchmarks run --profile ci",
                                **({"environment": env} if env else {})})
    for model in ("dnn", "logreg"):
        for s in seeds:
            rec = {"schema_version": SCHEMA_VERSION, "key": record_key(model, "wisconsin", s, None),
                   "status": "ok", "model": model, "dataset": "wisconsin", "seed": s, "fold": None,
                   "profile": "ci", "accuracy": 0.9 + 0.01 * s, "f1_macro": 0.89 + 0.01 * s,
                   "train_samples_per_s": 1000.0 + s, "test_labels": [0, 1], "test_scores": [[0.9, 0.1]] * 2}
            if env:
                rec["environment"] = env
            if s == failed_seed:
                rec.update(status="failed", error="RuntimeError: boom", accuracy=None)
            store.append(rec)
    return path


def test_save_writes_records_and_machine_metadata(tmp_path, capsys):
    run = make_run(tmp_path / "20250101-000000")
    bdir = tmp_path / "baselines"
    assert main(["baseline", "save", str(run), "--name", "ci", "--dir", str(bdir)]) == 0
    assert "saved baseline 'ci': 6 records, 2 (model, dataset) pairs" in capsys.readouterr().out
    doc = json.loads((bdir / "ci.json").read_text())
    assert doc["kind"] == BASELINE_KIND and doc["schema_version"] == SCHEMA_VERSION and doc["name"] == "ci"
    for key in ("cpu_model", "cpu_count", "gpus", "device_kind", "tensorflow", "control"):
        assert doc["machine"][key] == ENV[key]
    assert doc["source"]["run_id"] == run.name and doc["source"]["profile"] == "ci"
    src = json.loads((run / "results.json").read_text())["records"]
    assert [r["key"] for r in doc["records"]] == [r["key"] for r in src]
    assert all("test_scores" not in r and "test_labels" not in r for r in doc["records"])  # slim by default
    assert [r["accuracy"] for r in doc["records"]] == [r["accuracy"] for r in src]


def test_default_name_keep_scores_and_overwrite(tmp_path):
    run = make_run(tmp_path / "run-7")
    bdir = tmp_path / "b"
    out = save_baseline(run, baselines_dir=bdir, keep_scores=True)
    assert out == bdir / "run-7.json"
    assert all("test_scores" in r for r in json.loads(out.read_text())["records"])
    with pytest.raises(OncobenchError, match="exists; pass --force"):
        save_baseline(run, baselines_dir=bdir)
    assert save_baseline(run, baselines_dir=bdir, force=True) == out
    assert all("test_scores" not in r for r in json.loads(out.read_text())["records"])


def test_loaded_baseline_equals_the_run_and_compares_same(tmp_path, capsys):
    run = make_run(tmp_path / "run")
    bdir = tmp_path / "baselines"
    save_baseline(run, "ci", baselines_dir=bdir)
    side = load_side("ci", bdir)  # by name
    assert side.kind == "baseline" and side.label == "ci" and machine_id(side.machine) == machine_id(ENV)
    assert side.records[0]["environment"] == ENV
    run_side = load_side(run)
    assert run_side.kind == "run" and len(run_side.records) == len(side.records)
    assert main(["compare", "ci", str(run), "--baselines-dir", str(bdir)]) == 0
    out = capsys.readouterr().out
    assert "0 worse" in out and "ci: CPU Test CPU x2" in out


def test_records_without_environment_take_the_runs(tmp_path):
    run = make_run(tmp_path / "run", env=None)
    doc = json.loads((run / "results.json").read_text())
    doc["meta"]["environment"] = ENV
    (run / "results.json").write_text(json.dumps(doc))
    side = load_side(run)
    assert all(r["environment"] == ENV for r in side.records) and side.machine["cpu_model"] == "Test CPU"


def test_failed_records_kept_and_all_failed_refused(tmp_path, capsys):
    run = make_run(tmp_path / "partly", failed_seed=1)
    out = save_baseline(run, "p", baselines_dir=tmp_path / "b")
    assert sum(r["status"] == "failed" for r in json.loads(out.read_text())["records"]) == 2
    dead = make_run(tmp_path / "dead", seeds=(0,), failed_seed=0)
    with pytest.raises(OncobenchError, match="no successful run to save"):
        save_baseline(dead, "d", baselines_dir=tmp_path / "b")


@pytest.mark.parametrize("argv,message", [
    (["baseline", "save", "NOPE"], "no such run folder"),
    (["baseline", "save", "RUN", "--name", "../x"], "--name '../x': use letters"),
    (["baseline", "save", "EMPTY"], "no results file"),
])
def test_save_bad_input_exit_2(argv, message, tmp_path, capsys):
    run = make_run(tmp_path / "run")
    (tmp_path / "empty").mkdir()
    subs = {"NOPE": str(tmp_path / "nope"), "RUN": str(run), "EMPTY": str(tmp_path / "empty")}
    argv = [subs.get(a, a) for a in argv] + ["--dir", str(tmp_path / "b")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "b").exists()


def test_baseline_file_schema_mismatch_is_rejected(tmp_path):
    out = save_baseline(make_run(tmp_path / "run"), "old", baselines_dir=tmp_path)
    doc = json.loads(out.read_text())
    doc["schema_version"] = 0
    out.write_text(json.dumps(doc))
    with pytest.raises(OncobenchError, match="schema version 0, this oncobench reads 1"):
        load_side(out)


def test_list(tmp_path, capsys):
    bdir = tmp_path / "b"
    assert main(["baseline", "list", "--dir", str(bdir)]) == 0
    assert "no baselines" in capsys.readouterr().out
    save_baseline(make_run(tmp_path / "run"), "ci", baselines_dir=bdir)
    gpu = {**ENV, "device_kind": "GPU", "gpus": ["NVIDIA H100"], "cpu_count": 16}
    save_baseline(make_run(tmp_path / "gpu-run", env=gpu), "h100", baselines_dir=bdir)
    (bdir / "broken.json").write_text("{")
    assert main(["baseline", "list", "--dir", str(bdir)]) == 0
    out = capsys.readouterr().out
    assert "ci" in out and "CPU Test CPU x2" in out and "GPU NVIDIA H100 (CPU Test CPU x16)" in out
    assert "broken" in out and "unreadable" in out
    assert describe_machine({}) == "unknown machine"
