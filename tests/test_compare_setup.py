"""``compare`` refuses sides of different profiles or datasets before any table (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import api
from benchmarks.cli import main
from benchmarks.core.errors import OncobenchError

CI_BASELINE = Path(__file__).resolve().parent.parent / "results" / "baselines" / "ci.json"


def _side(tmp_path: Path, name: str, **changes) -> Path:
    """The committed ci baseline with every record changed (a run of another profile)."""
    doc = json.loads(CI_BASELINE.read_text(encoding="utf-8"))
    doc["records"] = [{**r, **changes} for r in doc["records"]]
    doc["name"] = name
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_ci_baseline_against_a_standard_run_is_refused_first(tmp_path, capsys):
    standard = _side(tmp_path, "standard-run", profile="standard")
    assert main(["compare", str(CI_BASELINE), str(standard)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no table before the refusal
    assert len(err.strip().splitlines()) == 1
    assert "profile ci vs standard" in err and "--allow-different-profiles" in err
    with pytest.raises(OncobenchError, match="profile ci vs standard"):
        api.compare(CI_BASELINE, standard)


def test_allowed_different_profiles_compare_with_a_note(tmp_path, capsys):
    standard = _side(tmp_path, "standard-run", profile="standard")
    rc = main(["compare", str(CI_BASELINE), str(standard), "--allow-different-profiles",
               "--fail-on", "quality"])
    out = capsys.readouterr().out
    assert rc == 0 and "profiles differ" in out and "accuracy" in out
    assert len(api.compare(CI_BASELINE, standard, allow_different_profiles=True)) > 0


def test_different_dataset_sets_are_refused(tmp_path, capsys):
    doc = json.loads(CI_BASELINE.read_text(encoding="utf-8"))
    doc["records"] = [r for r in doc["records"] if r["dataset"] != "golub"]
    fewer = tmp_path / "fewer.json"
    fewer.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["compare", str(CI_BASELINE), str(fewer)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "only the baseline has golub" in err
    assert main(["compare", str(CI_BASELINE), str(CI_BASELINE)]) == 0  # same setup: compared
