"""A plain-text table of a run's explanations: per record and method, faithfulness, the sanity
check, IG completeness, and explaining time against training time."""

from __future__ import annotations

from typing import Any


def explain_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in records:
        e = r.get("explanations") or {}
        for name, m in (e.get("methods") or {}).items():
            comp = m.get("completeness") or {}
            sanity = (m.get("sanity") or {}).get("spearman_trained_vs_random")
            snr = (m.get("snr_overlap") or {}).get("overlap")
            rows.append([
                r.get("key", ""), name, f"{m.get('faithfulness', float('nan')):.3f}",
                "n/a" if sanity is None else f"{sanity:.2f}",
                "n/a" if not comp else f"{comp['max_rel_error']:.3f}",
                "n/a" if snr is None else str(snr),
                f"{m.get('time_s', 0):.2f}",
                "n/a" if r.get("train_time_s") is None else f"{r['train_time_s']:.2f}",
            ])
        if e.get("error") or e.get("skipped"):
            rows.append([r.get("key", ""), "-", e.get("error") or e.get("skipped"), "", "", "", "", ""])
    return rows


def explain_table(records: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    headers = ["run", "method", "faithfulness", "rank corr. vs random", "IG max completeness error",
               "top-k ∩ SNR top-k", "explain (s)", "train (s)"]
    return tabulate(explain_rows(records), headers=headers, disable_numparse=True)
