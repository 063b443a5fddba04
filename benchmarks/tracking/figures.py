"""One record's figures for the trackers: its confusion matrix and ROC curves (matplotlib
``Figure`` objects, no pyplot state), and PNG bytes of them for TensorBoard."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

DPI = 100


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _title(record: dict[str, Any]) -> str:
    return f"{record.get('model')} on {record.get('dataset')}, seed {record.get('seed')}"


def confusion_matrix(record: dict[str, Any]):
    """The test confusion matrix (counts, coloured by the fraction of each true class); None
    without one."""
    cm = np.asarray(record.get("confusion_matrix") or [], dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.size == 0:
        return None
    k = cm.shape[0]
    names = list(record.get("class_names") or [])
    names = [str(n)[:20] for n in names] if len(names) == k else [str(i) for i in range(k)]
    totals = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    fig = _figure(max(4.5, 0.6 * k + 3.0), max(4.0, 0.55 * k + 2.5))
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for r in range(k):
        for c in range(k):
            ax.text(c, r, f"{int(cm[r, c])}", ha="center", va="center",
                    color="white" if frac[r, c] > 0.6 else "black", fontsize=9 if k <= 10 else 7)
    ax.set_xticks(range(k), names, rotation=35 if k > 2 else 0, ha="right" if k > 2 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"confusion matrix (counts)\n{_title(record)}", fontsize=9)
    fig.colorbar(im, ax=ax, label="fraction of true class", shrink=0.8)
    return fig


def roc(record: dict[str, Any]):
    """ROC of the test scores: the positive class for a binary task, one-vs-rest per class
    otherwise; None without per-sample scores."""
    from sklearn.metrics import auc, roc_curve

    y = np.asarray(record.get("test_labels") or [], dtype=int)
    s = np.asarray(record.get("test_scores") or [], dtype=float)
    if y.ndim != 1 or s.ndim != 2 or len(s) != len(y) or s.shape[1] < 2 or len(set(y.tolist())) < 2:
        return None
    names = list(record.get("class_names") or [])
    classes = [1] if s.shape[1] == 2 else [c for c in range(s.shape[1]) if 0 < (y == c).sum() < len(y)]
    fig = _figure(5.5, 5.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", color="#888888", label="chance (AUC 0.5)")
    for c in classes:
        fpr, tpr, _ = roc_curve(y == c, s[:, c])
        name = str(names[c])[:24] if len(names) == s.shape[1] else f"class {c}"
        ax.plot(fpr, tpr, lw=2, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC ({'positive class' if len(classes) == 1 else 'one vs rest'})\n{_title(record)}",
                 fontsize=9)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


FIGURES = {"confusion_matrix": confusion_matrix, "roc": roc}


def figures(record: dict[str, Any]) -> dict[str, Any]:
    """name -> Figure, for the figures the record has data for."""
    out = {}
    for name, draw in FIGURES.items():
        fig = draw(record)
        if fig is not None:
            out[name] = fig
    return out


def png(fig) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
