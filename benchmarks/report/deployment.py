"""The report's "Deployment" section, from records measured by ``deploy``: per model and format the
accuracy delta vs the Keras/scikit-learn model, latency and size (a table, and a figure with one
point per format)."""

from __future__ import annotations

from typing import Any

from benchmarks.report.analysis import DatasetSection, is_ok
from benchmarks.report.model import FigureRef
from benchmarks.report.plots import _figure, _png

DEPLOY_NOTE = ("Each exported format run in a fresh process with only its runtime, on the record's raw "
               "test inputs (preprocessing inside the artifact). Δ: the format minus the Keras/scikit-learn "
               "model it was exported from (0 = nothing lost); agreement: share of identical predicted "
               "classes; latency: one sample per call, one thread; throughput: the test split as one "
               "batch, one thread / the runtime's default over all CPUs; RSS: the whole process's peak.")


def deployed(sec: DatasetSection) -> list[dict[str, Any]]:
    """Finished records of ``sec`` that hold ``deployment`` measurements."""
    return [r for row in sec.rows for r in row.records
            if is_ok(r) and isinstance(r.get("deployment"), dict) and r["deployment"].get("formats")]


def deployment_table(sec: DatasetSection) -> tuple[list[str], list[list[tuple[str, bool]]]] | None:
    """The deployment rows of ``sec`` (None when nothing was deployed)."""
    from benchmarks.deploy.measure import HEADERS, deployment_rows

    records = deployed(sec)
    if not records:
        return None
    return HEADERS, [[(c, False) for c in row] for row in deployment_rows(records)]


def deployment_figures(sec: DatasetSection, colors: dict[str, str]) -> list[FigureRef]:
    """Accuracy delta vs single-sample latency (left) and vs size on disk (right), one point per
    (model, format)."""
    records = deployed(sec)
    if not records:
        return []
    fig = _figure(9.0, 3.6)
    left, right = fig.subplots(1, 2, sharey=True)
    markers = {"savedmodel": "s", "tflite_float32": "o", "tflite_dynamic_int8": "v", "tflite_int8": "^",
               "onnx": "D"}
    for r in records:
        for fmt, m in r["deployment"]["formats"].items():
            if m.get("delta_accuracy") is None:
                continue
            kw = {"color": colors.get(r["model"], "#444"), "marker": markers.get(fmt, "x"), "s": 36}
            left.scatter(m["latency_ms_p50"], 100 * m["delta_accuracy"], **kw)
            right.scatter(m["size_bytes"] / 1024, 100 * m["delta_accuracy"],
                          label=f"{r['model']} s{r['seed']} · {fmt}", **kw)
    for ax, xlabel in ((left, "latency p50 (ms, 1 sample, 1 thread)"), (right, "size on disk (KiB)")):
        ax.set_xscale("log")
        ax.axhline(0, color="#999", lw=0.8)
        ax.set_xlabel(xlabel)
    left.set_ylabel("Δ accuracy vs model (points)")
    right.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"{sec.name}: deployment (one point per format)")
    return [FigureRef(f"{sec.name}-deployment.png", f"{sec.name}: accuracy delta vs latency and size, "
                      "one point per exported format", _png(fig))]
