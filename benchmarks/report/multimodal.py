"""The report's multi-modal section: single vs fused side by side, the modality ablation and
the attribution mass per block, from records of multi-block datasets (``datasets.multiblock``).

Format-neutral like ``content``: tables are (headers, rows of (text, emphasis) cells). Records
without blocks give no section.
"""

from __future__ import annotations

from typing import Any

from benchmarks.records.results import is_ok
from benchmarks.records.stats import t_interval
from benchmarks.report.analysis import fmt_summary, fmt_value, number
from datasets.multiblock import blocks_label

Cell = tuple[str, bool]
Table = tuple[list[str], list[list[Cell]]]
NOTE = ("Test accuracy, mean [95% t interval] over seeds/folds. Blocks: those present at training → at "
        "test. Ablation: the same trained models, each test block removed in turn (its features zeroed "
        "and masked); drop = accuracy as tested - accuracy without the block.")


def _family(dataset: str) -> str:
    return dataset.split(":", 1)[0] if not dataset.startswith("multi:") else dataset


def _ok(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if is_ok(r) and (r.get("data") or {}).get("blocks_train")]


def single_vs_fused(records: list[dict[str, Any]]) -> list[tuple[str, Table]]:
    """Per dataset family: models as rows, its datasets (block subsets) as columns; the best mean
    of each column in bold."""
    out = []
    recs = _ok(records)
    for fam in sorted({_family(r["dataset"]) for r in recs}):
        group = [r for r in recs if _family(r["dataset"]) == fam]
        datasets = sorted({r["dataset"] for r in group}, key=lambda d: (d != fam, d))
        models = sorted({r["model"] for r in group})
        summ = {(m, d): t_interval([number(r.get("accuracy")) for r in group if r["model"] == m
                                    and r["dataset"] == d]) for m in models for d in datasets}
        best = {d: max((s.mean for (m, dd), s in summ.items() if dd == d and s.mean is not None),
                       default=None) for d in datasets}
        labels = {d: next(blocks_label(r) for r in group if r["dataset"] == d) for d in datasets}
        headers = ["model"] + [f"{d} ({labels[d]})" for d in datasets]
        rows = [[(m, False)] + [(fmt_summary(summ[m, d], "score"), summ[m, d].mean is not None
                                 and summ[m, d].mean == best[d]) for d in datasets] for m in models]
        out.append((fam, (headers, rows)))
    return out


def ablation_table(records: list[dict[str, Any]]) -> Table | None:
    """Per (dataset, model): accuracy as tested and without each test block (mean drop)."""
    recs = [r for r in _ok(records) if r.get("block_ablation")]
    if not recs:
        return None
    blocks = sorted({b for r in recs for b in r["block_ablation"]["without"]})
    headers = ["dataset", "model", "accuracy as tested"] + [f"without {b} (drop)" for b in blocks]
    rows = []
    for key in sorted({(r["dataset"], r["model"]) for r in recs}):
        group = [r for r in recs if (r["dataset"], r["model"]) == key]
        full = t_interval([r["block_ablation"]["full_accuracy"] for r in group])
        cells = [(key[0], False), (key[1], False), (fmt_value(full.mean, "score"), False)]
        drops = {b: [r["block_ablation"]["without"][b] for r in group if b in r["block_ablation"]["without"]]
                 for b in blocks}
        worst = max((b for b in blocks if drops[b]), key=lambda b: sum(d["drop"] for d in drops[b]),
                    default=None)
        for b in blocks:
            if not drops[b]:
                cells.append(("n/a", False))
                continue
            acc = t_interval([d["accuracy"] for d in drops[b]]).mean
            drop = t_interval([d["drop"] for d in drops[b]]).mean
            cells.append((f"{fmt_value(acc, 'score')} ({drop:+.3f})", b == worst and drop > 0))
        rows.append(cells)
    return headers, rows


def block_mass_table(records: list[dict[str, Any]]) -> Table | None:
    """Per (dataset, model): mean share of the primary method's attribution mass per block."""
    rows_in: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in _ok(records):
        expl = r.get("explanations") or {}
        mass = ((expl.get("methods") or {}).get(expl.get("primary") or "") or {}).get("block_mass")
        if mass:
            rows_in.setdefault((r["dataset"], r["model"]), []).append(mass)
    if not rows_in:
        return None
    blocks = sorted({b for ms in rows_in.values() for m in ms for b in m})
    rows = []
    for (ds, model), ms in sorted(rows_in.items()):
        mean = {b: sum(m.get(b, 0.0) for m in ms) / len(ms) for b in blocks}
        top = max(mean, key=mean.get)
        rows.append([(ds, False), (model, False)] + [(f"{mean[b]:.2f}", b == top) for b in blocks])
    return ["dataset", "model"] + [f"{b} share" for b in blocks], rows


def section(records: list[dict[str, Any]]) -> list[tuple[str, Table]]:
    """(heading, table) pairs of the multi-modal section; empty without multi-block records."""
    out = [(f"Single vs fused: {fam}", t) for fam, t in single_vs_fused(records)]
    abl = ablation_table(records)
    if abl:
        out.append(("Modality ablation (test accuracy without each block)", abl))
    mass = block_mass_table(records)
    if mass:
        out.append(("Attribution mass per block", mass))
    return out
