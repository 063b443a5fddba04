"""Federated records next to centralised ones: labels and the gap to the centralised run."""

from __future__ import annotations

from typing import Any

from benchmarks.records.results import ResultsStore, is_ok

GAP_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc")


def model_label(record: dict[str, Any]) -> str:
    """``cnn`` for a centralised record, ``cnn · fedavg (5 clients, dirichlet 0.5)`` for a federated one."""
    label = record.get("fed_label")
    return f"{record.get('model')} · {label}" if label else str(record.get("model"))


def _same_run(record: dict[str, Any]) -> tuple:
    return record.get("model"), record.get("dataset"), record.get("seed"), record.get("fold")


def central_gaps(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """key of each federated record -> {metric: federated - centralised} for the centralised run of
    the same model, dataset, seed and fold, where one finished."""
    central = {_same_run(r): r for r in records if is_ok(r) and not r.get("fed_label")}
    out = {}
    for r in records:
        c = central.get(_same_run(r))
        if r.get("fed_label") and is_ok(r) and c is not None:
            out[r["key"]] = {m: r[m] - c[m] for m in GAP_METRICS
                             if isinstance(r.get(m), (int, float)) and isinstance(c.get(m), (int, float))}
    return out


def add_central_gaps(store: ResultsStore) -> None:
    """Write ``gap_to_central`` (and ``accuracy_gap``) into every federated record that has a
    centralised twin in ``store``."""
    for key, gaps in central_gaps(store.records).items():
        rec = next(r for r in store.records if r.get("key") == key)
        store.append({**rec, "gap_to_central": gaps, "accuracy_gap": gaps.get("accuracy")})
