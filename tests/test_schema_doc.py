"""``docs/results-schema.md`` is current, and a real run's results.json matches what it documents."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import fields
from pathlib import Path

import pytest

from benchmarks.config import RunConfig
from benchmarks.records.results import FIELDS, SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent


def _load_make_schema():
    spec = importlib.util.spec_from_file_location("make_schema", ROOT / "docs" / "make_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


schema = _load_make_schema()


def test_doc_is_current():
    doc = (ROOT / "docs" / "results-schema.md").read_text(encoding="utf-8")
    assert doc == schema.render(), "docs/results-schema.md is stale; regenerate: python docs/make_schema.py"
    for name in FIELDS:
        assert f"| `{name}` |" in doc, name
    assert schema.main(["--check"]) == 0


def test_presence_lists_name_real_fields():
    for group in (schema.KERAS_ONLY, schema.WHEN_FLOPS, schema.FAILED_FIELDS):
        assert set(group) <= set(FIELDS), set(group) - set(FIELDS)
    assert set(schema.WHEN_FLOPS) <= set(schema.KERAS_ONLY)


@pytest.fixture(scope="module")
def run_doc(tmp_path_factory) -> dict:
    """results.json of a real quick run: logreg and dnn (2 epochs) on Wisconsin, through the CLI."""
    from benchmarks.cli import main

    out = tmp_path_factory.mktemp("schema") / "run"
    argv = ["run", "--model", "logreg,dnn", "--dataset", "wisconsin", "--profile", "quick",
            "--epochs", "2", "--output", str(out)]
    assert main(argv) == 0
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_file_layout_and_meta(run_doc):
    assert set(run_doc) == {"schema_version", "meta", "records"}
    assert run_doc["schema_version"] == SCHEMA_VERSION
    assert set(run_doc["meta"]) == set(schema.META)
    assert set(run_doc["meta"]["config"]) == {f.name for f in fields(RunConfig)}


@pytest.mark.parametrize("model", ["logreg", "dnn"])
def test_record_fields_are_documented_and_present(run_doc, model):
    rec = next(r for r in run_doc["records"] if r["model"] == model)
    assert rec["status"] == "ok"
    undocumented = set(rec) - set(FIELDS)
    assert not undocumented, f"add to benchmarks.records.results.FIELDS: {sorted(undocumented)}"
    optional = set(schema.KERAS_ONLY) if rec["framework"] == "sklearn" else set()
    missing = set(FIELDS) - optional - set(rec)
    assert not missing, f"documented but absent from a {model} record: {sorted(missing)}"
    documented_config = {f.name for f in fields(RunConfig)} - {"hparams", "seeds"}
    assert set(rec["config"]) == documented_config
    assert set(schema.DATA) <= set(rec["data"])
    assert set(rec["curves"]) == (set(schema.CURVES) if rec["framework"] == "keras" else set())


def test_environment_is_documented(run_doc):
    env = run_doc["meta"]["environment"]
    assert set(env) == set(schema.ENVIRONMENT)
    assert set(env["control"]) == set(schema.CONTROL)
    for rec in run_doc["records"]:
        assert rec["environment"] == env


def test_failed_record_fields():
    from benchmarks.config import get_profile
    from benchmarks.execution.runner import _failed
    from datasets import get_dataset
    from models import get_model

    rec = _failed(get_model("logreg"), get_dataset("wisconsin"), 0, None,
                  get_profile("quick"), RuntimeError("boom"), {"device_kind": "CPU"}, Path("run"))
    assert set(rec) == set(schema.FAILED_FIELDS)
    assert rec["status"] == "failed" and rec["error"] == "RuntimeError: boom"
