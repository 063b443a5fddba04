"""The metric catalogue: every fact about a metric in one entry.

Results (field meanings), tables and the report (headers, digits, direction), compare (kind,
direction, default thresholds, default metric lists) and ``docs/results-schema.md`` read it.
Adding a metric is one ``Metric`` entry here (plus the code that measures it). Imports nothing
heavy: ``list`` and ``--help`` read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["quality", "cost"]
KINDS: tuple[str, ...] = ("quality", "cost")


@dataclass(frozen=True)
class Metric:
    """One record field that measures a run.

    ``threshold`` is compare's default regression threshold: for quality an absolute floor on
    the drop of the mean, for cost a relative change of the median (0.05 = 5%);
    ``control_threshold`` (cost only) is the relative threshold once values are normalised by
    the run's control benchmark (noisier, so wider).
    """

    name: str
    meaning: str
    unit: str  # "fraction", "s", "ms", "samples/s", "GFLOP/s", "FLOPs", "MiB", "count", "ratio", "bytes"
    kind: Kind
    higher_is_better: bool
    header: str
    digits: int
    threshold: float
    control_threshold: float | None = None
    compared: bool = False  # compared by default by `compare`

    @property
    def direction(self) -> str:
        """``"max"`` when higher is better, else ``"min"``."""
        return "max" if self.higher_is_better else "min"


def _quality(name: str, meaning: str, header: str, compared: bool = False) -> Metric:
    return Metric(name, meaning, "fraction", "quality", True, header, 3, 0.01, None, compared)


def _cost(name: str, meaning: str, unit: str, higher: bool, header: str, digits: int,
          rel: float = 0.10, rel_control: float = 0.15, compared: bool = False) -> Metric:
    return Metric(name, meaning, unit, "cost", higher, header, digits, rel, rel_control, compared)


_ALL: tuple[Metric, ...] = (
    # quality on the test split
    _quality("accuracy", "test accuracy", "accuracy", compared=True),
    _quality("balanced_accuracy", "test balanced accuracy (mean per-class recall)", "balanced accuracy",
             compared=True),
    _quality("f1_macro", "test macro-averaged F1", "macro-F1", compared=True),
    _quality("f1_weighted", "test support-weighted F1", "weighted F1"),
    _quality("precision_macro", "test macro precision", "macro precision"),
    _quality("recall_macro", "test macro recall", "macro recall"),
    _quality("roc_auc", "test ROC-AUC (binary: positive = class 1; multi-class: macro one-vs-rest)",
             "ROC-AUC", compared=True),
    Metric("brier", "test Brier score, half the mean squared distance between the predicted probability "
           "vector and the one-hot label (binary: mean (p1 - y)^2); 0 = perfect, lower is better",
           "fraction", "quality", False, "Brier", 3, 0.01, None, True),
    Metric("ece", "test expected calibration error: top-label confidence in 15 equal-width bins, "
           "sum of bin share x |accuracy - mean confidence|; 0 = calibrated, lower is better",
           "fraction", "quality", False, "ECE (15 bins)", 3, 0.03, None, True),
    _quality("sensitivity", "binary: test sensitivity (recall of class 1) at the default threshold "
             "(arg-max, 0.5); null for multi-class", "sensitivity"),
    _quality("specificity", "binary: test specificity (recall of class 0) at the default threshold; "
             "null for multi-class", "specificity"),
    _quality("sensitivity_val_threshold", "binary: test sensitivity at val_threshold (Youden's J on the "
             "validation split); null without held-out validation scores", "sensitivity @ val thr."),
    _quality("specificity_val_threshold", "binary: test specificity at val_threshold; null without "
             "held-out validation scores", "specificity @ val thr."),
    _quality("faithfulness",
             "explanation faithfulness (run --explain / explain): area over the deletion curve of the "
             "top-attributed features minus that of random ones, true-class probability; 0 = random, "
             "higher is better; null when not explained (benchmarks/explain/faithfulness.py)",
             "faithfulness"),
    # cost (the compared ones first, in compare's row order)
    _cost("train_samples_per_s", "steady-state training throughput (first epoch excluded)", "samples/s",
          True, "train samples/s", 0, rel=0.05, rel_control=0.10, compared=True),
    _cost("inference_samples_per_s", "inference throughput at the benchmark batch size", "samples/s",
          True, "inference samples/s", 0, rel=0.05, rel_control=0.10, compared=True),
    _cost("latency_ms_p50", "median latency of one-sample prediction, ms", "ms", False,
          "latency p50 (ms)", 2, rel=0.10, rel_control=0.15, compared=True),
    _cost("train_time_s", "wall time of fit only (all phases), seconds", "s", False, "train time (s)", 1,
          rel=0.10, rel_control=0.15, compared=True),
    _cost("latency_ms_p95", "95th percentile latency of one-sample prediction, ms", "ms", False,
          "latency p95 (ms)", 2, rel=0.15, rel_control=0.20),
    _cost("latency_ms_p99", "99th percentile latency of one-sample prediction, ms", "ms", False,
          "latency p99 (ms)", 2, rel=0.20, rel_control=0.25),
    _cost("first_epoch_s", "wall time of the first epoch (includes tracing/compilation), seconds", "s",
          False, "first epoch (s)", 1),
    _cost("time_to_target_s", "wall time from fit start until --target was first reached, null if not",
          "s", False, "time to target (s)", 1),
    _cost("flops_per_sample", "forward-pass FLOPs for one sample (TF graph profiler; multiply-add = 2)",
          "FLOPs", False, "FLOPs/sample", 0),
    _cost("train_gflops_per_s", "achieved training GFLOP/s, 3 x flops_per_sample x train_samples_per_s",
          "GFLOP/s", True, "train GFLOP/s", 1, rel=0.05, rel_control=0.10),
    _cost("inference_gflops_per_s",
          "achieved inference GFLOP/s, flops_per_sample x inference_samples_per_s", "GFLOP/s", True,
          "inference GFLOP/s", 1, rel=0.05, rel_control=0.10),
    _cost("single_replica_samples_per_s", "with --strategy and --scaling: train samples/s of the same run "
          "on one replica (same invocation); else null", "samples/s", True, "1-replica samples/s", 0),
    _cost("peak_rss_mb", "peak resident memory of the process so far, MiB", "MiB", False,
          "peak RSS (MiB)", 0),
    _cost("data_memory_mb", "the dataset's features as stored, all splits (images: pixel bytes), MiB",
          "MiB", False, "data (MiB)", 0, rel=0.0, rel_control=0.0),
    _cost("peak_rss_data_ratio", "peak_rss_mb / data_memory_mb (how many times the data the run held)",
          "ratio", False, "peak RSS / data", 2),
    _cost("gpu_peak_memory_mb",
          "peak GPU memory during the run (tf.config.experimental.get_memory_info), MiB", "MiB", False,
          "peak GPU memory (MiB)", 0),
    _cost("bytes_total", "federated: model bytes sent server -> clients plus clients -> server over all "
          "rounds (training and evaluation messages); null for centralised runs", "bytes", False,
          "bytes sent", 0, rel=0.0, rel_control=0.0),
    _cost("federated_wall_s", "federated: wall time of the whole Flower simulation (engine start "
          "included), seconds; train_time_s is the rounds only; null for centralised runs", "s", False,
          "federated wall time (s)", 1),
    _cost("explain_time_s", "run --explain / explain: wall time of the primary attribution method (Keras: "
          "Integrated Gradients) on the explained test samples (default 100; IG 50 steps), seconds; "
          "compare with train_time_s; null when not explained", "s", False, "explain time (s)", 1),
    _cost("params", "number of parameters (sklearn: coefficients or tree nodes)", "count", False,
          "parameters", 0, rel=0.0, rel_control=0.0),
    _cost("trainable_params", "trainable parameters (keras), null for sklearn", "count", False,
          "trainable parameters", 0, rel=0.0, rel_control=0.0),
)

METRICS: dict[str, Metric] = {m.name: m for m in _ALL}


def get(name: str) -> Metric:
    """The catalogue entry of ``name``; KeyError naming the valid metrics otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


def names(kind: str | None = None) -> tuple[str, ...]:
    """Metric names in catalogue order, optionally of one kind."""
    return tuple(m.name for m in METRICS.values() if kind is None or m.kind == kind)


def quality() -> tuple[Metric, ...]:
    """Quality metrics (fractions in [0, 1], one value per seed/fold; higher is better except the
    calibration errors brier and ece), in catalogue order."""
    return tuple(m for m in METRICS.values() if m.kind == "quality")


def cost() -> tuple[Metric, ...]:
    """Cost metrics (time, throughput, memory, size), in catalogue order."""
    return tuple(m for m in METRICS.values() if m.kind == "cost")


def compared(kind: str) -> tuple[str, ...]:
    """Names of the metrics of ``kind`` that ``compare`` checks by default, in catalogue order."""
    return tuple(m.name for m in METRICS.values() if m.kind == kind and m.compared)
