"""The report's explanation figures, from records explained by ``run --explain`` / ``explain``.

- image datasets: per network, a grid of explained test images (correct and wrong, every
  class) with each method's attribution map overlaid (``explanations/<key>.npz``);
- expression/tabular datasets: per model, the top features (names) of its primary method as a
  bar chart, and the Jaccard overlap of the top-k lists across models and seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.core.paths import safe_filename
from benchmarks.report.analysis import DatasetSection, is_ok, run_label
from benchmarks.report.model import FigureRef
from benchmarks.report.plots import _figure, _png, short, text

EXPLAIN_NOTE = ("faithfulness: area over the deletion curve of the top-attributed features minus that "
                "of random ones (0 = no better than random, higher is better); rank correlation of "
                "|attributions| between the trained and a randomised model (Adebayo et al. 2018): low "
                "means the method reflects the model; IG completeness: |sum - output difference| / "
                "output difference")
BAR_FEATURES = 15  # features per bar chart
MAX_GRID_ROWS = 8


def explained(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Finished records that hold explanations, in run order (model, seed, fold)."""
    out = [r for r in records if is_ok(r) and isinstance(r.get("explanations"), dict)
           and r["explanations"].get("methods")]
    return sorted(out, key=lambda r: (str(r.get("model")), int(r.get("seed") or 0), str(r.get("fold"))))


def overall_names(record: dict[str, Any], method: str | None = None) -> list[str]:
    """The overall top-k feature names of ``method`` (default: the record's primary method)."""
    e = record["explanations"]
    m = e["methods"].get(method or e.get("primary")) or {}
    return [str(t.get("name")) for t in (m.get("top_features") or {}).get("overall", [])]


def jaccard_matrix(records: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    """Labels (model, seed) and the pairwise Jaccard overlap of their top-k lists."""
    from benchmarks.explain.features import jaccard

    runs = [(f"{r.get('model')} {run_label(r)}", overall_names(r)) for r in records if overall_names(r)]
    n = len(runs)
    mat = np.ones((n, n))
    for i in range(n):
        for j in range(n):
            mat[i, j] = jaccard(runs[i][1], runs[j][1])
    return [label for label, _ in runs], mat


def _bars(dataset: str, record: dict[str, Any], color: str) -> bytes | None:
    e = record["explanations"]
    top = ((e["methods"][e["primary"]].get("top_features") or {}).get("overall") or [])[:BAR_FEATURES]
    if not top:
        return None
    fig = _figure(7.5, 0.32 * len(top) + 1.2)
    ax = fig.add_subplot()
    labels = [short(t["name"] + (f" ({t['description']})" if t.get("description") else ""), 48) for t in top]
    ax.barh(range(len(top))[::-1], [t["score"] for t in top], color=color)
    ax.set_yticks(range(len(top))[::-1], labels, fontsize=8)
    ax.set_xlabel(f"mean attribution for the true class ({e['primary']})")
    ax.set_title(text(f"{dataset}: {record['model']} top features ({run_label(record)})"), fontsize=10)
    return _png(fig)


def _jaccard_png(dataset: str, labels: list[str], mat: np.ndarray, k: int) -> bytes:
    fig = _figure(1.2 + 0.55 * len(labels), 1.0 + 0.5 * len(labels))
    ax = fig.add_subplot()
    im = ax.imshow(mat, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(labels)), [short(s, 18) for s in labels], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), [short(s, 18) for s in labels], fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if mat[i, j] < 0.5 else "black")
    fig.colorbar(im, ax=ax, label="Jaccard overlap")
    ax.set_title(text(f"{dataset}: overlap of top-{k} features"), fontsize=10)
    return _png(fig)


def _grid(dataset: str, record: dict[str, Any], arrays: dict[str, np.ndarray],
          class_names: list[str]) -> bytes | None:
    methods = [k[5:] for k in arrays if k.startswith("attr_")]
    x = arrays.get("x")
    if x is None or not len(x) or not methods:
        return None
    rows = min(len(x), MAX_GRID_ROWS)
    fig = _figure(1.6 * (1 + len(methods)), 1.6 * rows + 0.6)
    axes = fig.subplots(rows, 1 + len(methods), squeeze=False)
    for i in range(rows):
        img = x[i].mean(axis=-1) if x[i].ndim == 3 else x[i]
        y, pred = int(arrays["y"][i]), int(arrays["pred"][i])
        axes[i][0].imshow(img, cmap="gray", vmin=0, vmax=1)
        mark = "correct" if y == pred else "wrong"
        name = class_names[y] if y < len(class_names) else y
        axes[i][0].set_title(short(f"{name}: {mark}", 24), fontsize=7)
        for j, m in enumerate(methods, 1):
            a = np.abs(arrays[f"attr_{m}"][i])
            a = a.sum(axis=-1) if a.ndim == 3 else a
            axes[i][j].imshow(img, cmap="gray", vmin=0, vmax=1)
            axes[i][j].imshow(a / (a.max() or 1.0), cmap="inferno", alpha=0.55, vmin=0, vmax=1)
            if i == 0:
                axes[i][j].set_title(m, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(text(f"{dataset}: {record['model']} attributions ({run_label(record)})"), fontsize=9)
    return _png(fig)


def _arrays(run_dir: Path, record: dict[str, Any]) -> dict[str, np.ndarray] | None:
    rel = record["explanations"].get("arrays")
    path = run_dir / rel if rel else None
    if path is None or not path.is_file() or run_dir.resolve() not in path.resolve().parents:
        return None
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def explanation_figures(sec: DatasetSection, run_dir: Path, colors: dict[str, str]) -> list[FigureRef]:
    """The explanation figures of one dataset section (empty when nothing was explained)."""
    base = safe_filename(sec.name)
    out: list[FigureRef] = []
    records = explained([r for row in sec.rows for r in row.records])
    if not records:
        return out
    image = records[0].get("modality") == "image"
    for model in dict.fromkeys(r["model"] for r in records):
        first = next(r for r in records if r["model"] == model)
        mbase = f"{base}--{safe_filename(model)}"
        if image:
            arrays = _arrays(run_dir, first)
            png = _grid(sec.name, first, arrays, sec.class_names) if arrays else None
            if png:
                out.append(FigureRef(f"{mbase}--attributions.png",
                                     f"{model}: explained test images (correct and wrong, each class) with "
                                     "|attribution| overlaid per method (brighter = more evidence).", png))
        else:
            png = _bars(sec.name, first, colors.get(model, "#444444"))
            if png:
                out.append(FigureRef(f"{mbase}--top-features.png",
                                     f"{model}: top features by mean attribution for the true class "
                                     f"({first['explanations']['primary']}), with descriptions where "
                                     "the dataset has them.", png))
    if not image:
        labels, mat = jaccard_matrix(records)
        if len(labels) > 1:
            k = len(overall_names(records[0]))
            out.append(FigureRef(f"{base}--top-feature-overlap.png",
                                 f"Jaccard overlap of the top-{k} feature lists (each run's primary "
                                 "method) across models and seeds.", _jaccard_png(sec.name, labels, mat, k)))
    return out


def _mean(values: list[Any]) -> float | None:
    vals = [float(v) for v in values if isinstance(v, (int, float)) and np.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def explanation_table(sec: DatasetSection) -> tuple[list[str], list[list[tuple[str, bool]]]] | None:
    """Per model and method: faithfulness (mean [95% CI] over runs), the randomisation rank
    correlation, IG completeness, explaining vs training time, top features; None when nothing
    of this dataset was explained."""
    from benchmarks.records.stats import t_interval
    from benchmarks.report.analysis import fmt_summary, fmt_value

    records = explained([r for row in sec.rows for r in row.records])
    if not records:
        return None
    headers = ["model", "method", "runs", "faithfulness", "rank corr. vs random model",
               "IG max completeness error", "explain time (s)", "train time (s)", "top features"]
    rows = []
    for model in dict.fromkeys(r["model"] for r in records):
        recs = [r for r in records if r["model"] == model]
        for method in dict.fromkeys(m for r in recs for m in r["explanations"]["methods"]):
            ms = [r["explanations"]["methods"][method] for r in recs
                  if method in r["explanations"]["methods"]]
            faith = t_interval([m["faithfulness"] for m in ms if m.get("faithfulness") is not None])
            comp = _mean([(m.get("completeness") or {}).get("max_rel_error") for m in ms])
            top = overall_names(recs[0], method)[:5]
            rows.append([(model, False), (method, False), (str(len(ms)), False),
                         (fmt_summary(faith, "number"), False),
                         (fmt_value(_mean([(m.get("sanity") or {}).get("spearman_trained_vs_random")
                                           for m in ms]), "score", 2), False),
                         (fmt_value(comp, "score", 3), False),
                         (fmt_value(_mean([m.get("time_s") for m in ms]), "number"), False),
                         (fmt_value(_mean([r.get("train_time_s") for r in recs]), "number"), False),
                         (", ".join(top) or "n/a", False)])
    return headers, rows
