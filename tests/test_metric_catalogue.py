"""The metric catalogue is the one source of metric facts: every entry is complete, and results,
tables, the report, compare and the schema doc take meanings, headers, digits, directions and
default thresholds from it."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.compare import Thresholds
from benchmarks.compare.thresholds import metric_defaults
from benchmarks.core.errors import OncobenchError
from benchmarks.metrics import METRICS, Metric, catalogue
from benchmarks.records.results import COST_METRICS, FIELDS, QUALITY_METRICS

ROOT = Path(__file__).resolve().parent.parent
# Field names that look like a measurement: they must be catalogue metrics.
METRIC_LIKE = re.compile(r"(_s|_per_s|_ms_p\d+|_mb|params|flops\w*|accuracy|_macro|_weighted|roc_auc)$")


def _make_schema():
    spec = importlib.util.spec_from_file_location("make_schema", ROOT / "docs" / "make_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("metric", list(METRICS.values()), ids=list(METRICS))
def test_every_metric_has_every_fact(metric: Metric):
    assert {f.name for f in dataclasses.fields(Metric)} == {
        "name", "meaning", "unit", "kind", "higher_is_better", "header", "digits", "threshold",
        "control_threshold", "compared"}
    assert METRICS[metric.name] is metric and catalogue.get(metric.name) is metric
    assert metric.meaning.strip() and metric.unit.strip() and metric.header.strip()
    assert metric.kind in catalogue.KINDS
    assert isinstance(metric.higher_is_better, bool) and isinstance(metric.compared, bool)
    assert metric.direction == ("max" if metric.higher_is_better else "min")
    assert isinstance(metric.digits, int) and metric.digits >= 0
    assert metric.threshold >= 0
    if metric.kind == "quality":
        assert metric.higher_is_better and metric.unit == "fraction" and metric.control_threshold is None
    else:
        assert metric.control_threshold is not None and metric.control_threshold >= metric.threshold


def test_one_header_per_metric_and_unknown_names_fail():
    headers = [m.header for m in METRICS.values()]
    assert len(headers) == len(set(headers))
    with pytest.raises(KeyError, match="unknown metric 'nope'"):
        catalogue.get("nope")


def test_results_fields_take_metric_meanings_from_the_catalogue():
    for m in METRICS.values():
        assert FIELDS[m.name] == m.meaning
    assert QUALITY_METRICS == tuple(m.name for m in catalogue.quality())
    assert COST_METRICS == tuple(m.name for m in catalogue.cost())
    assert set(QUALITY_METRICS) | set(COST_METRICS) == set(METRICS)


def test_no_metric_in_fields_without_a_catalogue_entry():
    scalar = {k for k, v in FIELDS.items() if not v.startswith(("object:", "list"))}
    looks_like_metric = {k for k in scalar if METRIC_LIKE.search(k)}
    assert looks_like_metric, "the pattern matches nothing: fix METRIC_LIKE"
    missing = looks_like_metric - set(METRICS)
    assert not missing, f"add to benchmarks/metrics/catalogue.py: {sorted(missing)}"


def test_tables_and_report_read_the_catalogue():
    from benchmarks.records import tables
    from benchmarks.report.analysis import COLUMNS

    for name in tables.TABLE_METRICS:
        assert tables.HEADERS[name] == METRICS[name].header
        assert tables.DIGITS[name] == METRICS[name].digits
    for col in COLUMNS:
        m = METRICS[col.field]
        assert (col.header, col.better, col.digits) == (m.header, m.direction, m.digits)
    assert tables.HEADERS["inference_samples_per_s"] == "inference samples/s"
    report_headers = {c.field: c.header for c in COLUMNS}
    shared = set(report_headers) & set(tables.HEADERS)
    assert shared and all(report_headers[n] == tables.HEADERS[n] for n in shared)


def test_compare_reads_directions_defaults_and_lists_from_the_catalogue():
    th = Thresholds.load()
    assert th.quality_metrics == list(catalogue.compared("quality"))
    assert th.speed_metrics == list(catalogue.compared("cost"))
    assert th.quality_metrics == ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc"]
    assert th.speed_metrics == ["train_samples_per_s", "inference_samples_per_s", "latency_ms_p50",
                                "train_time_s"]
    for m in METRICS.values():
        s = th.settings("dnn", "wisconsin", m.name)  # no per-benchmark override
        assert s["higher_is_better"] is m.higher_is_better
        assert s["kind"] == ("quality" if m.kind == "quality" else "speed")
        if m.kind == "quality":
            assert s["abs_floor"] == m.threshold
        else:
            assert (s["rel"], s["rel_control"]) == (m.threshold, m.control_threshold)
    assert th.settings("dnn", "golub", "accuracy")["abs_floor"] == 0.03  # the TOML's override stays


def test_thresholds_file_metric_lists_are_validated_against_the_catalogue(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[quality]\nmetrics = ["train_time_s"]\n')
    with pytest.raises(OncobenchError, match="unknown metric"):
        Thresholds.load(bad)
    bad.write_text("[metrics.not_a_metric]\nenabled = false\n")
    with pytest.raises(OncobenchError, match="unknown metric"):
        Thresholds.load(bad)
    good = tmp_path / "good.toml"
    good.write_text('[quality]\nmetrics = ["accuracy", "f1_weighted"]\n[speed]\nrel = 0.2\n')
    th = Thresholds.load(good)
    assert th.quality_metrics == ["accuracy", "f1_weighted"]
    assert th.settings("dnn", "wisconsin", "latency_ms_p50")["rel"] == 0.2  # kind table over catalogue


def test_schema_doc_lists_every_metric_from_the_catalogue():
    doc = (ROOT / "docs" / "results-schema.md").read_text(encoding="utf-8")
    for m in METRICS.values():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{m.name}` | {m.kind} |"))
        assert f"| {m.header} |" in row and ("higher" if m.higher_is_better else "lower") in row


def test_adding_a_metric_is_one_catalogue_entry(monkeypatch):
    new = Metric("energy_j", "energy of fit, joules", "J", "cost", False, "energy (J)", 1, 0.1, 0.2)
    monkeypatch.setitem(catalogue.METRICS, new.name, new)
    th = Thresholds.load()
    s = th.settings("dnn", "wisconsin", "energy_j")
    assert (s["kind"], s["higher_is_better"], s["rel"], s["rel_control"]) == ("speed", False, 0.1, 0.2)
    assert metric_defaults("energy_j")["rel"] == 0.1
    assert any("`energy_j`" in row and "energy (J)" in row for row in _make_schema().metric_rows())
    assert "energy_j" in catalogue.names("cost") and "energy_j" not in th.speed_metrics


def test_catalogue_imports_nothing_heavy():
    code = ("import sys; import benchmarks.metrics.catalogue, benchmarks.metrics; "
            "heavy = [m for m in ('numpy', 'sklearn', 'scipy', 'tensorflow') if m in sys.modules]; "
            "assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
