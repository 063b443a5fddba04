"""The report's figures as PNG bytes (matplotlib, Agg, no pyplot state).

Every figure uses the same model -> colour mapping (``model_colors``), labelled axes with
units and a legend. Functions return None when the records hold nothing to draw.
"""

from __future__ import annotations

import io
import math
from typing import Any

from benchmarks.report.analysis import number, run_label

DPI = 100
TICK_CHARS = 22  # longer class names are shortened on axes


def model_colors(models: list[str]) -> dict[str, str]:
    """Fixed colours: sorted model names over tab10 (tab20 beyond ten models)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    names = sorted(set(models))
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"]
    return {m: to_hex(cmap(i % cmap.N)) for i, m in enumerate(names)}


def text(s: Any) -> str:
    """Data text safe for matplotlib: ``$`` would start mathtext."""
    return str(s).replace("$", r"\$")


def short(s: Any, n: int = TICK_CHARS) -> str:
    s = text(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def accuracy_vs_time(dataset: str, points: dict[str, tuple[float, float]], front: list[str],
                     intervals: dict[str, tuple[float | None, float | None]],
                     colors: dict[str, str]) -> bytes | None:
    """Mean test accuracy against mean training time per model, with the Pareto front."""
    if not points:
        return None
    fig = _figure(9.5, 5)
    ax = fig.add_subplot()
    times = [t for t, _ in points.values()]
    positive = all(t > 0 for t in times)
    log = positive and max(times) / min(times) > 20
    for model, (t, a) in sorted(points.items()):
        lo, hi = intervals.get(model, (None, None))
        yerr = [[a - lo], [hi - a]] if lo is not None and hi is not None else None
        ax.errorbar([t], [a], yerr=yerr, fmt="o", ms=9, capsize=4, color=colors.get(model, "#444444"),
                    label=text(model), zorder=3)
        ax.annotate(short(model), (t, a), textcoords="offset points", xytext=(7, 6), fontsize=9)
    if front:
        fx = [points[m][0] for m in front]
        fy = [points[m][1] for m in front]
        ax.plot(fx, fy, "o", mfc="none", mec="#222222", mew=1.5, ms=17, zorder=4,
                label="on the Pareto front")
        if len(front) > 1:
            ax.step(fx, fy, where="post", color="#555555", ls="--", lw=1.3, zorder=2,
                    label="Pareto front (max. accuracy, min. time)")
    if log:
        ax.set_xscale("log")
    ax.margins(x=0.15, y=0.15)
    bottom, top = ax.get_ylim()
    ax.set_ylim(max(bottom, -0.02), min(top, 1.02))
    ax.set_xlabel("training time, mean over runs (s" + (", log scale)" if log else ")"))
    ax.set_ylabel("test accuracy, mean over runs (fraction)")
    ax.set_title(f"{short(dataset, 60)}: accuracy vs training time (error bars: 95% CI)")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return _png(fig)


def learning_curves(dataset: str, model: str, records: list[dict[str, Any]], color: str) -> bytes | None:
    """Train (solid) and validation (dashed) loss and accuracy per epoch, one line per run."""
    from matplotlib.lines import Line2D

    runs = [r for r in records if isinstance(r.get("curves"), dict)
            and isinstance(r["curves"].get("loss"), list) and r["curves"]["loss"]]
    if not runs:
        return None
    fig = _figure(11, 4.2)
    axes = fig.subplots(1, 2)
    markers = "osD^vP*Xh<>"
    for i, r in enumerate(runs):
        curves = r["curves"]
        mk = markers[i % len(markers)]
        for ax, (tr, va) in zip(axes, (("loss", "val_loss"), ("accuracy", "val_accuracy"))):
            for key, ls in ((tr, "-"), (va, "--")):
                raw = curves.get(key)
                ys = [number(v) for v in raw] if isinstance(raw, list) else []
                if not ys:
                    continue
                xs = range(1, len(ys) + 1)
                ax.plot(xs, [math.nan if v is None else v for v in ys], ls=ls, marker=mk, ms=4,
                        markevery=max(1, len(ys) // 10), color=color, alpha=0.85, lw=1.5)
    axes[0].set_ylabel("loss (cross-entropy)")
    axes[1].set_ylabel("accuracy (fraction)")
    for ax, what in zip(axes, ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(f"{what} per epoch")
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles = [Line2D([], [], color=color, ls="-", label="train"),
               Line2D([], [], color=color, ls="--", label="validation")]
    handles += [Line2D([], [], color=color, ls="none", marker=markers[i % len(markers)],
                       label=text(run_label(r))) for i, r in enumerate(runs)]
    axes[1].legend(handles=handles, fontsize=8, loc="best")
    n = f"{len(runs)} run" + ("s" if len(runs) != 1 else "")
    fig.suptitle(f"{short(model, 40)} on {short(dataset, 40)}: learning curves ({n})")
    return _png(fig)


def _normalised(cm: list[list[float]]) -> list[list[float | None]]:
    out = []
    for row in cm:
        total = sum(row)
        out.append([v / total if total else None for v in row])
    return out


def median_run(dataset: str, model: str, record: dict[str, Any], class_names: list[str],
               color: str) -> bytes | None:
    """Row-normalised confusion matrix and per-class F1 of one run."""
    cm = record.get("confusion_matrix")
    valid = (isinstance(cm, list) and cm and all(isinstance(row, list) and len(row) == len(cm) for row in cm)
             and all(number(v) is not None for row in cm for v in row))
    f1 = record.get("per_class_f1") if isinstance(record.get("per_class_f1"), dict) else {}
    if not valid and not f1:
        return None
    k = len(cm) if valid else len(f1)
    names = class_names if len(class_names) == k else [str(i) for i in range(k)]
    height = max(4.0, 0.62 * k + 2.4)
    both = bool(valid) and bool(f1)
    fig = _figure(max(12.0, 0.75 * k + 8.0) if both else 7.5, height)
    fig.get_layout_engine().set(wspace=0.08)
    panels = fig.subplots(1, 2 if both else 1, squeeze=False,
                          gridspec_kw={"width_ratios": [1.6, 1]} if both else None)[0]
    i = 0
    if valid:
        ax = panels[i]
        i += 1
        norm = _normalised(cm)
        grid = [[math.nan if v is None else v for v in row] for row in norm]
        im = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1)
        size = 10 if k <= 6 else 9 if k <= 10 else 7
        for r in range(k):
            for c in range(k):
                v = norm[r][c]
                count = f"\n({int(cm[r][c])})" if k <= 6 else ""
                label = "n/a" if v is None else f"{v:.2f}{count}"
                ax.text(c, r, label, ha="center", va="center", fontsize=size,
                        color="white" if v is not None and v > 0.6 else "black")
        ticks = list(range(k))
        ax.set_xticks(ticks, [short(n) for n in names], rotation=35 if k > 2 else 0, ha="right" if k > 2
                      else "center")
        ax.set_yticks(ticks, [short(n) for n in names])
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title("confusion matrix: fraction of true class" + (" (count)" if k <= 6 else ""))
        fig.colorbar(im, ax=ax, label="fraction of true class", shrink=0.85)
    if f1:
        ax = panels[i]
        labels = [short(n) for n in f1]
        values = [number(v) for v in f1.values()]
        ys = list(range(len(values)))[::-1]
        ax.barh(ys, [v or 0.0 for v in values], color=color, height=0.6)
        for y, v in zip(ys, values):
            ax.text(min(v or 0.0, 1.0) + 0.01, y, "n/a" if v is None else f"{v:.2f}", va="center", fontsize=9)
        ax.set_yticks(ys, labels)
        ax.set_xlim(0, 1.12)
        ax.set_xlabel("F1 score (0-1)")
        ax.set_title("per-class F1")
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(f"{short(model, 40)} on {short(dataset, 40)}: median-accuracy run ({run_label(record)})")
    return _png(fig)


def binary_scores(record: dict[str, Any]) -> tuple[Any, Any] | None:
    """A binary record's test labels and class-1 scores (None: not binary, or no stored scores)."""
    import numpy as np

    try:
        y = np.asarray(record.get("test_labels"), dtype=int)
        s = np.asarray(record.get("test_scores"), dtype=float)
    except (TypeError, ValueError):
        return None
    if y.ndim != 1 or s.ndim != 2 or s.shape != (y.size, 2) or len(set(y.tolist())) != 2:
        return None
    return y, s[:, 1]


def roc_curves(dataset: str, runs: dict[str, dict[str, Any]], class_names: list[str],
               colors: dict[str, str]) -> bytes | None:
    """Binary tasks: ROC of the positive class (class 1) for each model's given run."""
    from sklearn.metrics import auc, roc_curve

    curves = []
    for model, r in sorted(runs.items()):
        scored = binary_scores(r)
        if scored is None:
            continue
        try:
            fpr, tpr, _ = roc_curve(*scored, pos_label=1)
        except ValueError:
            continue
        curves.append((model, fpr, tpr, auc(fpr, tpr), r))
    if not curves:
        return None
    fig = _figure(6.5, 6)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", color="#888888", label="chance (AUC 0.5)")
    for model, fpr, tpr, area, r in curves:
        ax.plot(fpr, tpr, color=colors.get(model, "#444444"), lw=2,
                label=f"{short(model, 30)} (AUC {area:.3f}, {run_label(r)})")
    positive = short(class_names[1], 30) if len(class_names) == 2 else "class 1"
    ax.set_xlabel("false positive rate (fraction)")
    ax.set_ylabel("true positive rate (fraction)")
    ax.set_title(f"{short(dataset, 40)}: ROC, positive class '{positive}'\n(median-accuracy run per model)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _mean_curve(curves: list[list[float | None]]) -> list[float]:
    """Per index, the mean of the curves' finite values (curves may differ in length)."""
    n = max(len(c) for c in curves)
    out = []
    for i in range(n):
        vals = [v for c in curves if i < len(c) and (v := number(c[i])) is not None]
        out.append(sum(vals) / len(vals) if vals else math.nan)
    return out


def federated_curves(dataset: str, records: list[dict[str, Any]], colors: dict[str, str]) -> bytes | None:
    """Global test accuracy per round and against cumulative bytes communicated (mean over runs),
    one line per federated model label; centralised models as dashed horizontal lines."""
    fed: dict[str, list[dict[str, Any]]] = {}
    central: dict[str, list[float]] = {}
    for r in records:
        curve = (r.get("round_curves") or {}).get("round_test_accuracy") if isinstance(
            r.get("round_curves"), dict) else None
        if isinstance(curve, list) and curve:
            fed.setdefault(str(r.get("model")), []).append(r)
        elif number(r.get("accuracy")) is not None and r.get("status", "ok") == "ok":
            central.setdefault(str(r.get("model")), []).append(number(r["accuracy"]))
    if not fed:
        return None
    fig = _figure(11, 4.5)
    by_round, by_bytes = fig.subplots(1, 2)
    for label, runs in sorted(fed.items()):
        color = colors.get(label, "#444444")
        acc = _mean_curve([r["round_curves"]["round_test_accuracy"] for r in runs])
        per_round = _mean_curve([[(number(d) or 0) + (number(u) or 0) for d, u in
                                  zip(r.get("bytes_down_per_round") or [], r.get("bytes_up_per_round") or [])]
                                 for r in runs])
        rounds = range(1, len(acc) + 1)
        by_round.plot(rounds, acc, marker="o", ms=3, color=color, label=text(short(label, 60)))
        if len(per_round) >= len(acc):
            cum, total = [], 0.0
            for b in per_round[:len(acc)]:
                total += b
                cum.append(total / 2**20)
            by_bytes.plot(cum, acc, marker="o", ms=3, color=color, label=text(short(label, 60)))
    for label, accs in sorted(central.items()):
        for ax in (by_round, by_bytes):
            ax.axhline(sum(accs) / len(accs), ls="--", lw=1.2, color=colors.get(label, "#888888"),
                       label=text(f"{short(label, 40)} (centralised)") if ax is by_round else None)
    by_round.set_xlabel("round")
    by_bytes.set_xlabel("cumulative model bytes sent, down + up (MiB)")
    for ax in (by_round, by_bytes):
        ax.set_ylabel("global test accuracy (fraction)")
        ax.grid(True, alpha=0.3)
    by_round.xaxis.get_major_locator().set_params(integer=True)
    by_round.set_title("accuracy against rounds")
    by_bytes.set_title("accuracy against communication")
    by_round.legend(fontsize=8, loc="best")
    fig.suptitle(f"{short(dataset, 40)}: federated training (mean over runs)")
    return _png(fig)


def cd_diagram(mean_ranks: dict[str, float], cd: float | None, cliques: list[list[str]], title: str,
               colors: dict[str, str]) -> bytes | None:
    """Critical-difference diagram (Demšar 2006): models on a rank axis (1 = best, on the left),
    a bar of length CD, and a thick line joining models whose mean ranks differ by less than CD."""
    if len(mean_ranks) < 2:
        return None
    names = list(mean_ranks)  # best first
    k = len(names)
    lo, hi = 1, max(k, math.ceil(max(mean_ranks.values())))
    half = math.ceil(k / 2)
    fig = _figure(9, 1.9 + 0.32 * half + 0.18 * len(cliques))
    ax = fig.add_subplot()
    ax.set_xlim(lo - 0.6, hi + 0.6)
    rows = half + 1
    ax.set_ylim(-(rows + 0.6 + 0.3 * len(cliques)), 1.6)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="black", lw=1.2)
    for t in range(lo, hi + 1):
        ax.vlines(t, 0, 0.15, color="black", lw=1)
        ax.text(t, 0.3, str(t), ha="center", va="bottom", fontsize=10)
    for i, m in enumerate(names):
        r = mean_ranks[m]
        left = i < half
        y = -(i + 1) if left else -(k - i)
        x_text = lo - 0.5 if left else hi + 0.5
        color = colors.get(m, "#444444")
        ax.plot([r, r, x_text], [0, y, y], color=color, lw=1.6)
        ax.text(x_text + (-0.05 if left else 0.05), y, f"{short(m, 24)} ({r:.2f})",
                ha="right" if left else "left", va="center", fontsize=10, color=color)
    for j, clique in enumerate(cliques):
        y = -0.35 - 0.25 * j
        ax.hlines(y, mean_ranks[clique[0]] - 0.03, mean_ranks[clique[-1]] + 0.03, color="black", lw=4)
    if cd is not None:
        ax.hlines(1.15, lo, lo + cd, color="#b22222", lw=2)
        ax.vlines([lo, lo + cd], 1.05, 1.25, color="#b22222", lw=1.5)
        ax.text(lo + cd / 2, 1.3, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=10, color="#b22222")
    ax.set_title(text(title), fontsize=11, loc="left")
    return _png(fig)


def reliability_diagram(dataset: str, runs: dict[str, list[dict[str, Any]]], colors: dict[str, str],
                        bins: int = 15) -> bytes | None:
    """Top-label reliability per model (every successful run's test scores pooled): mean
    confidence against accuracy in ``bins`` equal-width confidence bins, with the diagonal of
    perfect calibration, and a histogram of the confidences below."""
    import numpy as np

    from benchmarks.metrics.classification import ece, reliability_bins

    pooled = {}
    for model, recs in sorted(runs.items()):
        ys, ps = [], []
        for r in recs:
            try:
                y = np.asarray(r.get("test_labels"), dtype=int)
                p = np.asarray(r.get("test_scores"), dtype=float)
            except (TypeError, ValueError):
                continue
            if y.ndim == 1 and p.ndim == 2 and len(p) == len(y) and len(y):
                ys.append(y)
                ps.append(p)
        if ys and len({p.shape[1] for p in ps}) == 1:
            pooled[model] = (np.concatenate(ys), np.concatenate(ps))
    if not pooled:
        return None
    fig = _figure(7, 7.5)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], ls=":", color="#888888", label="perfectly calibrated")
    for model, (y, p) in pooled.items():
        pts = reliability_bins(y, p, bins)
        color = colors.get(model, "#444444")
        top.plot([b["confidence"] for b in pts], [b["accuracy"] for b in pts], marker="o", ms=4, lw=1.6,
                 color=color, label=f"{short(model, 28)} (ECE {ece(y, p, bins):.3f})")
        bottom.hist(p.max(axis=1), bins=np.linspace(0, 1, bins + 1), histtype="step", color=color, lw=1.4)
    top.set_ylabel("accuracy in bin (fraction)")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1.01)
    top.grid(True, alpha=0.3)
    top.legend(fontsize=8, loc="upper left")
    top.set_title(f"{short(dataset, 40)}: reliability (top-label confidence, {bins} equal-width bins,\n"
                  "all runs' test predictions pooled per model)")
    bottom.set_xlabel("predicted probability of the predicted class (confidence)")
    bottom.set_ylabel("test predictions")
    bottom.grid(True, alpha=0.3)
    return _png(fig)


def pr_curves(dataset: str, runs: dict[str, dict[str, Any]], class_names: list[str],
              colors: dict[str, str]) -> bytes | None:
    """Binary tasks: precision-recall curve of the positive class (class 1) per model's given run,
    with its average precision and the prevalence (a no-skill classifier's precision)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    curves = []
    prevalence = None
    for model, r in sorted(runs.items()):
        scored = binary_scores(r)
        if scored is None:
            continue
        y, s1 = scored
        try:
            prec, rec, _ = precision_recall_curve(y, s1, pos_label=1)
            ap = float(average_precision_score(y, s1))
        except ValueError:
            continue
        prevalence = float(y.mean())
        curves.append((model, rec, prec, ap, r))
    if not curves:
        return None
    fig = _figure(6.5, 6)
    ax = fig.add_subplot()
    ax.hlines(prevalence, 0, 1, ls=":", color="#888888", label=f"no skill (prevalence {prevalence:.3f})")
    for model, rec, prec, ap, r in curves:
        ax.step(rec, prec, where="post", color=colors.get(model, "#444444"), lw=2,
                label=f"{short(model, 30)} (AP {ap:.3f}, {run_label(r)})")
    positive = short(class_names[1], 30) if len(class_names) == 2 else "class 1"
    ax.set_xlabel("recall (fraction)")
    ax.set_ylabel("precision (fraction)")
    ax.set_title(f"{short(dataset, 40)}: precision-recall, positive class '{positive}'\n"
                 "(median-accuracy run per model)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return _png(fig)
