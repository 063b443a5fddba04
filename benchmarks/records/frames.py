"""Run records as pandas tables for notebooks: ``summary_frame`` (one row per model x dataset,
like timm's results CSVs) and the column rule of ``results.csv`` (``kept_columns``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

if TYPE_CHECKING:
    import pandas as pd

# default summary metrics: the printed table's, with balanced accuracy and size
SUMMARY_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "train_time_s",
                   "inference_samples_per_s", "latency_ms_p50", "params")


def _empty(value: Any) -> bool:
    return value is None or value == ""


def kept_columns(rows: list[dict[str, Any]]) -> list[str]:
    """Columns in first-seen order, leaving out those with no value in any row (e.g. the
    federated, explanation and GPU fields of a plain CPU run); results.json keeps every field."""
    cols: list[str] = []
    for row in rows:
        cols += [c for c in row if c not in cols]
    return [c for c in cols if any(not _empty(row.get(c)) for row in rows)]


def _hp_value(values: list[Any]) -> Any:
    distinct = list(dict.fromkeys(str(v) if isinstance(v, (list, dict)) else v for v in values))
    return distinct[0] if len(distinct) == 1 else " | ".join(map(str, distinct))


def summary_frame(records: Iterable[dict[str, Any]], metrics: Sequence[str] | None = None,
                  confidence: float = 0.95) -> "pd.DataFrame":
    """One row per (model, dataset): ``runs``, ``failed``, ``profile``; per metric its mean,
    ``_std``, ``_ci_low`` / ``_ci_high`` (Student t over seeds/folds at ``confidence``; one run:
    bootstrap over test samples for quality metrics); then each hyper-parameter as ``hp.NAME``."""
    import pandas as pd

    from benchmarks.metrics import catalogue
    from benchmarks.records.federated import model_label
    from benchmarks.records.stats import aggregate

    records = [{**r, "model": model_label(r)} for r in records]
    metrics = list(metrics or SUMMARY_METRICS)
    bad = [m for m in metrics if m not in catalogue.METRICS]
    if bad:
        from benchmarks.core.errors import OncobenchError

        raise OncobenchError(f"unknown metric(s) {', '.join(bad)}; "
                             f"valid: {', '.join(sorted(catalogue.METRICS))}")
    rows = []
    for a in aggregate(records, metrics, by=("model", "dataset"), confidence=confidence):
        group = [r for r in records if (r.get("model"), r.get("dataset")) == (a["model"], a["dataset"])]
        row: dict[str, Any] = {"model": a["model"], "dataset": a["dataset"], "runs": a["runs"],
                               "failed": a["failed"],
                               "profile": _hp_value([r.get("profile") for r in group])}
        for m in metrics:
            s = a[m]
            row.update({m: s.mean, f"{m}_std": s.std, f"{m}_ci_low": s.ci_low, f"{m}_ci_high": s.ci_high})
        names: list[str] = []
        for r in group:
            names += [k for k in (r.get("hparams") or {}) if k not in names]
        for name in names:
            row[f"hp.{name}"] = _hp_value([(r.get("hparams") or {}).get(name) for r in group])
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.sort_values(["dataset", "model"], ignore_index=True) if len(frame) else frame
