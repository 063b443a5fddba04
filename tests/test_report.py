"""The report: tables, figures, escaping and robustness, from synthetic records and a real run."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
import zlib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.records.results import SCHEMA_VERSION, record_key
from benchmarks.report.analysis import median_record, pareto_front
from benchmarks.report.markdown import md
from benchmarks.report.plots import model_colors

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVIL = "<script>alert(1)</script>"


def _scores(labels: np.ndarray, k: int, skill: float, rng: np.random.Generator) -> np.ndarray:
    """Class probabilities that favour the true class with strength ``skill``."""
    logits = rng.normal(size=(labels.size, k))
    logits[np.arange(labels.size), labels] += skill
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def make_record(model: str, dataset: str, seed: int, *, classes: list[str], skill: float = 2.0,
                keras: bool = True, n_test: int = 40) -> dict:
    """A record following FIELDS, with metrics computed from synthetic test scores."""
    from benchmarks.metrics.classification import classification_metrics

    rng = np.random.default_rng(zlib.crc32(f"{model}|{dataset}|{seed}".encode()))
    labels = np.arange(n_test) % len(classes)
    proba = _scores(labels, len(classes), skill, rng)
    epochs = 4 + seed
    curves = {"loss": list(np.linspace(0.9, 0.3, epochs)), "val_loss": list(np.linspace(1.0, 0.45, epochs)),
              "accuracy": list(np.linspace(0.6, 0.95, epochs)),
              "val_accuracy": list(np.linspace(0.55, 0.9, epochs))} if keras else {}
    env = {"device_kind": "CPU", "device_name": "Test CPU", "gpus": [], "tensorflow": "2.x", "keras": "3.x",
           "python": "3.11", "cpu_model": "Test CPU", "cpu_count": 2, "git_commit": "abc123",
           "control": {"matmul_gflops": 12.5, "ref_model_samples_per_s": 3400.0}}
    return {
        "schema_version": SCHEMA_VERSION, "run_id": "synthetic",
        "key": record_key(model, dataset, seed, None),
        "status": "ok", "error": None, "model": model, "framework": "keras" if keras else "sklearn",
        "dataset": dataset, "modality": "tabular", "seed": seed, "fold": None, "profile": "quick",
        **classification_metrics(labels, proba, classes),
        "class_names": classes, "test_labels": labels.tolist(), "test_scores": proba.round(6).tolist(),
        "train_time_s": 0.5 + 0.3 * seed + (2.0 if keras else 0.0), "epochs": epochs if keras else None,
        "train_samples_per_s": 1000.0 + 10 * seed, "inference_samples_per_s": 5000.0,
        "params": 1234 if keras else 31, "curves": curves, "device_kind": "CPU", "device_name": "Test CPU",
        "environment": env, "data": {"n_train": 100, "n_val": 20, "n_test": n_test, "source": "synthetic"},
        "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:05+00:00",
    }


def synthetic_records() -> list[dict]:
    binary = ["benign", "malignant"]
    recs = [make_record("dnn", "breastmnist", s, classes=binary) for s in (0, 1, 2)]
    recs.append(make_record("logreg", "breastmnist", 0, classes=binary, keras=False))  # single seed
    recs += [make_record(EVIL, "breastmnist", s, classes=binary, skill=1.0) for s in (0, 1)]
    recs.append({  # a failed run, with a URL in its error
        "schema_version": SCHEMA_VERSION, "key": record_key("cnn", "breastmnist", 0, None),
        "status": "failed", "error": "DataError: cannot download https://example.org/x.npz",
        "model": "cnn", "dataset": "breastmnist", "seed": 0, "fold": None})
    three = ["ALL", "AML", "T-cell & <b>"]
    recs += [make_record("dnn", "multi|class", s, classes=three) for s in (0, 1)]
    recs.append({"model": "bare", "dataset": "multi|class", "seed": 7, "accuracy": 0.5})  # no optional fields
    return recs


class _Tables(HTMLParser):
    """Tables of an HTML page as lists of rows of cell text, keyed by the preceding h2/h3."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.heading = ""
        self._in: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3"):
            self._in, self._text = tag, ""
        elif tag == "table":
            self.tables.append((self.heading, []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._in, self._text = "cell", ""
        elif tag == "br" and self._in == "cell":
            self._text += " "

    def handle_endtag(self, tag):
        if tag in ("h2", "h3") and self._in == tag:
            self.heading, self._in = self._text.strip(), None
        elif tag in ("td", "th") and self._in == "cell":
            self.tables[-1][1][-1].append(self._text.strip())
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._text += data


def _tables(html_text: str) -> list[tuple[str, list[list[str]]]]:
    parser = _Tables()
    parser.feed(html_text)
    return parser.tables


def _write_results(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python -m benchmarks run --all", "profile": "quick", "seeds": [0, 1, 2],
            "started_at": "2026-01-01T00:00:00+00:00", "environment": records[0]["environment"]}
    doc = {"schema_version": SCHEMA_VERSION, "meta": meta, "records": records}
    (folder / "results.json").write_text(json.dumps(doc))
    return folder


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    run = _write_results(tmp_path_factory.mktemp("run") / "run-1", synthetic_records())
    out = tmp_path_factory.mktemp("report")
    assert main(["report", str(run), "--output", str(out)]) == 0
    return run, out


def _check_pngs(out: Path) -> list[Path]:
    """Every figure is a valid PNG, linked from report.md and embedded byte-identical in report.html."""
    from PIL import Image

    pngs = sorted((out / "figures").glob("*.png"))
    assert pngs
    md_text = (out / "report.md").read_text()
    html_text = (out / "report.html").read_text()
    embedded = {base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html_text)}
    for p in pngs:
        data = p.read_bytes()
        assert data.startswith(PNG_SIGNATURE), p
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            assert im.size[0] > 300 and im.size[1] > 200
        assert f"](figures/{p.name})" in md_text
        assert data in embedded
    assert len(embedded) == len(pngs)
    return pngs


def _check_self_contained(html_text: str) -> None:
    assert "http://" not in html_text and "https://" not in html_text
    assert "<script" not in html_text.lower() and "<link" not in html_text.lower()
    assert "@import" not in html_text and "url(" not in html_text
    for src in re.findall(r'src="([^"]*)"', html_text):
        assert src.startswith("data:image/png;base64,")


def test_every_record_in_tables(synthetic):
    run, out = synthetic
    records = synthetic_records()
    tables = _tables((out / "report.html").read_text())
    runs = next(rows for heading, rows in tables if heading == "All runs")
    assert runs[0][:4] == ["dataset", "model", "seed", "fold"]
    body = {tuple(r[:3]) for r in runs[1:]}
    for r in records:
        assert (r["dataset"], r["model"], str(r["seed"])) in body
    assert len(runs) - 1 == len(records)
    for ds in {r["dataset"] for r in records}:
        comparison = next(rows for heading, rows in tables if heading == ds)
        assert comparison[0][:3] == ["model", "runs", "accuracy"]
        assert {row[0] for row in comparison[1:]} == {r["model"] for r in records if r["dataset"] == ds}
    md_text = (out / "report.md").read_text()
    for r in records:
        assert f"| {md(r['dataset'])} | {md(r['model'])} | {r['seed']} |" in md_text


def test_comparison_values_cis_and_best(synthetic):
    run, out = synthetic
    records = synthetic_records()
    tables = _tables((out / "report.html").read_text())
    rows = {row[0]: row for row in next(rows for h, rows in tables if h == "breastmnist")[1:]}
    header = next(rows for h, rows in tables if h == "breastmnist")[0]
    col = {name: header.index(name) for name in header}
    dnn = [r for r in records if r["model"] == "dnn" and r["dataset"] == "breastmnist"]
    mean = np.mean([r["accuracy"] for r in dnn])
    assert rows["dnn"][col["accuracy"]].startswith(f"{mean:.3f} [")
    assert rows["dnn"][col["95% CI"]] == "t over 3 runs"
    assert rows["logreg"][col["95% CI"]] == "bootstrap over test samples"  # one seed
    assert rows["logreg"][col["accuracy"]].endswith("]")
    assert rows["cnn"][col["runs"]] == "0 (1 failed)" and rows["cnn"][col["accuracy"]] == "n/a"
    # the fastest model is marked best for training time, in both formats
    html_text = (out / "report.html").read_text()
    logreg_row = html_text.split('</span>logreg</td>', 1)[1].split("</tr>", 1)[0]
    assert logreg_row.count('class="num best"') >= 2  # train time and parameters
    assert re.search(r"\| logreg \| 1 \|[^\n]*\*\*0\.5\*\*", (out / "report.md").read_text())


def test_figures_are_valid_pngs(synthetic):
    run, out = synthetic
    names = {p.name for p in _check_pngs(out)}
    assert "breastmnist--accuracy-vs-time.png" in names and "breastmnist--roc.png" in names
    assert "breastmnist--dnn--learning-curves.png" in names and "breastmnist--dnn--median-run.png" in names
    assert not any(n.startswith("multi") and n.endswith("--roc.png") for n in names)  # ROC: binary only
    assert "breastmnist--logreg--learning-curves.png" not in names  # scikit-learn: no curves


def test_html_self_contained_and_escaped(synthetic):
    run, out = synthetic
    html_text = (out / "report.html").read_text()
    _check_self_contained(html_text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "T-cell &amp; &lt;b&gt;" in html_text
    assert "example.org" in html_text  # the failed run's error is shown, its URL defused
    md_text = (out / "report.md").read_text()
    assert EVIL not in md_text and "&lt;script&gt;alert(1)&lt;/script&gt;" in md_text


def test_failed_runs_published_environment(synthetic):
    run, out = synthetic
    tables = _tables((out / "report.html").read_text())
    failed = next(rows for h, rows in tables if h == "Failed runs")
    assert failed[1][:3] == ["breastmnist", "cnn", "0"] and "cannot download" in failed[1][4]
    published = next(rows for h, rows in tables if h.startswith("Published reference results"))
    assert "published, not measured here" in next(h for h, _ in tables if h.startswith("Published"))
    assert ["ResNet-18 (28)", "0.863", "0.901"] == [published[1][0], published[1][2], published[1][3]]
    env = dict(row for row in next(rows for h, rows in tables if h == "Environment")[1:])
    assert env["command"] == "python -m benchmarks run --all" and env["git commit"] == "abc123"
    assert env["device"] == "CPU (Test CPU)" and env["scikit-learn"] == "n/a"
    assert env["control: 1024x1024 float32 matmul"] == "12.5 GFLOP/s"
    bare = next(r for r in next(rows for h, rows in tables if h == "All runs") if r[1] == "bare")
    assert bare[5] == "0.500" and bare[6:9] == ["n/a", "n/a", "n/a"]


def test_consistent_model_colours(synthetic):
    """A model's colour is the same in its figures on different datasets, and in the tables."""
    from PIL import Image

    run, out = synthetic
    colors = model_colors(["dnn", "logreg", EVIL, "cnn", "bare"])
    assert colors == model_colors(["bare", "cnn", "dnn", "logreg", EVIL])  # order-independent
    assert len(set(colors.values())) == len(colors)
    rgb = tuple(int(colors["dnn"][i:i + 2], 16) for i in (1, 3, 5))
    for name in ("breastmnist--dnn--median-run.png", "breastmnist--accuracy-vs-time.png"):
        with Image.open(out / "figures" / name) as im:
            pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
        assert (pixels == rgb).all(axis=1).sum() > 50, name
    multi = next((out / "figures").glob("multi_class-*--dnn--median-run.png"))
    with Image.open(multi) as im:
        assert (np.asarray(im.convert("RGB")).reshape(-1, 3) == rgb).all(axis=1).sum() > 50
    html_text = (out / "report.html").read_text()
    assert html_text.count(f'style="background:{colors["dnn"]}"') >= 4


def test_median_seed_and_pareto_front():
    recs = [{"seed": s, "accuracy": a} for s, a in ((0, 1.0), (3, 0.5), (1, 0.75), (2, 0.25))]
    assert median_record(recs)["seed"] == 1  # median 0.625: 0.5 and 0.75 tie, lowest seed
    recs = [{"seed": s, "accuracy": a} for s, a in ((2, 0.8), (0, 0.9), (1, 0.85))]
    assert median_record(recs)["seed"] == 1
    assert median_record([{"seed": 1, "accuracy": 0.7}, {"seed": 0, "accuracy": 0.7}])["seed"] == 0
    assert median_record([{"seed": 0, "status": "failed"}]) is None
    points = {"a": (1.0, 0.9), "b": (2.0, 0.8), "c": (0.5, 0.7), "d": (3.0, 0.95), "e": (3.0, 0.9)}
    assert pareto_front(points) == ["c", "a", "d"]


def test_empty_and_broken_results(tmp_path, capsys):
    empty = _write_results(tmp_path / "empty", [make_record("dnn", "x", 0, classes=["a", "b"])])
    doc = json.loads((empty / "results.json").read_text())
    doc["records"] = []
    (empty / "results.json").write_text(json.dumps(doc))
    assert main(["report", str(empty)]) == 0
    assert "No records" in (empty / "report.md").read_text()
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "no results file" in err[0]


@pytest.mark.skipif(importlib.util.find_spec("benchmarks.commands.run") is None, reason="no run command yet")
def test_report_of_a_real_quick_run(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["run", "--model", "logreg,dnn", "--dataset", "wisconsin", "--profile", "quick", "--seeds", "0,1",
            "--output", str(run), "--report"]
    assert main(argv) == 0
    assert str(run / "report.html") in capsys.readouterr().out
    records = json.loads((run / "results.json").read_text())["records"]
    html_text = (run / "report.html").read_text()
    _check_self_contained(html_text)
    _check_pngs(run)
    tables = _tables(html_text)
    runs = next(rows for h, rows in tables if h == "All runs")
    assert {tuple(r[:3]) for r in runs[1:]} == {(r["dataset"], r["model"], str(r["seed"])) for r in records}
    comparison = next(rows for h, rows in tables if h == "wisconsin")
    assert {row[0] for row in comparison[1:]} == {"logreg", "dnn"}
    assert all(re.match(r"^\d\.\d{3}", row[2]) for row in comparison[1:])  # accuracy measured
    assert (run / "figures" / "wisconsin--dnn--learning-curves.png").is_file()


def test_colliding_figure_names_are_renamed():
    from benchmarks.report.build import FigureRef, SectionFigures, _unique_names

    png = PNG_SIGNATURE
    figures = {"a--b": SectionFigures(per_model={"c": [FigureRef("a--b--c--median-run.png", "", png)]}),
               "a": SectionFigures(per_model={"b--c": [FigureRef("a--b--c--median-run.png", "", png)]})}
    _unique_names(figures)
    names = [ref.name for f in figures.values() for refs in f.per_model.values() for ref in refs]
    assert len(set(names)) == 2 and "a--b--c--median-run.png" in names


def test_cli_import_stays_light():
    import subprocess
    import sys

    code = ("import sys, benchmarks.report; "
            "print(sorted(m for m in ('matplotlib', 'tensorflow', 'keras', 'scipy', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
