"""The Python API: the documented notebook example runs and returns one row per record;
options are checked; errors are exceptions; progress goes to a callback or logger."""

from __future__ import annotations

import csv
import runpy
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import api
from benchmarks.core.errors import OncobenchError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "api_example.py"


def test_notebook_example_runs_and_returns_one_row_per_record(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("INFO", logger="oncobench"):
        ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    df = ns["df"]
    assert isinstance(df, pd.DataFrame) and len(df) == 4  # 2 models x 1 dataset x 2 seeds
    assert set(zip(df["model"], df["seed"])) == {(m, s) for m in ("logreg", "dnn") for s in (0, 1)}
    assert (df["status"] == "ok").all() and df["accuracy"].between(0.8, 1).all()
    run_dir = tmp_path / "results" / "api-demo"
    with open(run_dir / "results.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert list(df.columns) == header  # the same fields as results.csv
    assert (df["epochs"][df["model"] == "dnn"] <= 3).all()
    assert "hparams" not in df.columns  # nested fields stay in results.json, as in results.csv
    pd.testing.assert_frame_equal(ns["again"], df, check_dtype=False)
    assert set(ns["verdicts"]["verdict"]) <= {"same", "not comparable"}
    assert ns["html"].name == "report.html" and ns["html"].exists()
    assert any("logreg on wisconsin seed 0" in r.getMessage() for r in caplog.records)
    assert 'dropout = 0.2' in (run_dir / "suite.toml").read_text()


def test_progress_callback_and_errors_are_exceptions(tmp_path):
    lines: list[str] = []
    df = api.run("logreg", "wisconsin", seeds=1, profile="quick", output=tmp_path / "r",
                 progress=lines.append)
    assert len(df) == 1 and df["seed"].tolist() == [0]
    assert any("[1/1] logreg on wisconsin seed 0" in line for line in lines)
    with pytest.raises(OncobenchError, match="unknown option 'epoch'; valid: epochs, batch_size"):
        api.run("logreg", "wisconsin", epoch=3)
    with pytest.raises(OncobenchError, match="unknown model 'nope'"):
        api.run("nope", "wisconsin", output=tmp_path / "x")
    with pytest.raises(OncobenchError, match="top_k_genes"):
        api.suite("logreg", "wisconsin", top_k_genes="many")
    assert not (tmp_path / "x").exists()


def test_readme_shows_the_tested_example() -> None:
    """The README's notebook example is docs/api_example.py, the file this module runs."""
    root = Path(__file__).resolve().parents[1]
    code = (root / "docs" / "api_example.py").read_text().split('"""', 2)[2].strip()
    assert code in (root / "README.md").read_text()
