"""The table ``run`` prints at the end: the comparison table made to fit a terminal.

summary.md keeps every column (``tables.comparison_table``); here the columns that are noise at
a glance go: train samples/s (train time says it), a degenerate column of zeros (a count is put
beside the runs when there is one), the device when every row ran on the same one (said below
the table), and the two published deltas become one ``Δ vs published`` column (accuracy /
ROC-AUC) without the published value itself. The committed ci baseline (14 pairs, 3 seeds)
prints 145 characters wide, not 252.
"""

from __future__ import annotations

from typing import Any

from benchmarks.metrics import catalogue
from benchmarks.records.tables import PUBLISHED_METRICS, comparison_rows, table_metrics
from datasets.multiblock import blocks_label

DROPPED = ("train_samples_per_s",)
HEADERS = {"f1_macro": "macro-F1", "train_time_s": "train (s)", "inference_samples_per_s": "infer/s",
           "latency_ms_p50": "p50 (ms)"}


def _delta(cell: str) -> str:
    return cell.split(" vs ")[0]


def console_table(records: list[dict[str, Any]]) -> str:
    """The narrow comparison table, and a ``device:`` line when every row shares one device."""
    from tabulate import tabulate

    metrics = table_metrics(records)
    rows = comparison_rows(records)
    n = len(metrics)
    keep = [i for i, m in enumerate(metrics) if m not in DROPPED]
    devices = {row[-1] for row in rows}
    b = 1 if any(blocks_label(r) for r in records) else 0  # multi-block data: a blocks column
    out_rows = []
    for row in rows:
        dataset, model, *blocks = row[:2 + b]
        runs = row[2 + b]
        cells = row[3 + b:3 + b + n]
        degenerate = row[3 + b + n]
        deltas = row[4 + b + n:4 + b + n + len(PUBLISHED_METRICS)]
        if degenerate != "0":
            runs = f"{runs} ({degenerate.split('/')[0]} degenerate)"
        line = [dataset, model, *blocks, runs] + [cells[i] for i in keep]
        shown = [_delta(d) for d in deltas]
        line.append("n/a" if set(shown) == {"n/a"} else " / ".join(shown))
        if len(devices) > 1:
            line.append(row[-1])
        out_rows.append(line)
    headers = (["dataset", "model", *(["blocks"] if b else []), "runs"]
               + [HEADERS.get(metrics[i], catalogue.get(metrics[i]).header if metrics[i] in catalogue.METRICS
                              else metrics[i]) for i in keep]
               + ["Δ vs published"] + (["device"] if len(devices) > 1 else []))
    text = tabulate(out_rows, headers=headers, tablefmt="simple", disable_numparse=True)
    if len(devices) == 1:
        text += f"\ndevice: {next(iter(devices))}; every column and the published values: summary.md"
    return text
