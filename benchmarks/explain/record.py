"""Explain one finished run: every applicable method, its faithfulness, sanity check and top
features, as record fields; arrays for the report's figures in ``explanations/<key>.npz``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core.paths import safe_filename
from benchmarks.explain import baselines, features
from benchmarks.explain.faithfulness import faithfulness
from benchmarks.explain.gradients import completeness_error
from benchmarks.explain.methods import Method, get_method
from benchmarks.explain.restore import randomised, restore
from benchmarks.explain.sanity import rank_correlation
from benchmarks.explain.target import Explainable, Samples
from datasets.base import Dataset

# Methods when none are named: gradients for Keras (cheap with a tape), model-agnostic ones
# for the rest (permutation over thousands of genes costs one prediction per gene and repeat).
DEFAULT_METHODS: dict[str, tuple[str, ...]] = {
    "keras": ("ig", "saliency", "occlusion"),
    "*": ("permutation", "occlusion"),
}
# The method whose faithfulness is the record's ``faithfulness`` column: the first one explained.
PRIMARY_ORDER = ("ig", "permutation", "occlusion", "smoothgrad", "saliency")
EXPLANATIONS_DIR = "explanations"
GRID_PER_CELL = 2  # report grid: samples per (class, correct/wrong)
COMPLETENESS_TOLERANCE = 0.05


@dataclass(frozen=True)
class ExplainSettings:
    """What to explain: methods (None: ``DEFAULT_METHODS`` by framework; those that do not apply
    to a model are skipped), how many test samples (seeded choice), IG steps, top-k features,
    and whether to run the sanity check."""

    methods: tuple[str, ...] | None = None
    samples: int = 100
    steps: int = 50
    top_k: int = 50
    candidates: int = 200  # permutation: features permuted (top of a cheap pre-ranking); 0: all
    sanity: bool = True


def choose_samples(ds: Dataset, n: int, seed: int, modality: str) -> Samples:
    """``n`` test samples (all when fewer), chosen with ``seed``, in test-split order."""
    total = len(ds.test)
    rng = np.random.default_rng(seed)
    idx = np.arange(total) if n >= total else np.sort(rng.choice(total, n, replace=False))
    x = ds.test.floats(idx)
    return Samples(x, ds.test.y[idx].astype(int), baselines.baseline_for(x, modality), idx)


def model_view(record: dict[str, Any], ds: Dataset) -> tuple[Dataset, np.ndarray | None]:
    """The data as the model saw it: the record's feature selection (recipe ``select_features``,
    ANOVA F on the training split, deterministic) applied again, and the kept columns' indices in
    ``ds`` (None: every feature). Names and descriptions stay aligned with the columns."""
    from benchmarks.adapters.features import keep_columns, kept_features

    sel = record.get("feature_selection") or {}
    keep = kept_features(ds, int(sel["k"])) if sel.get("k") else None
    return (ds, None) if keep is None else (keep_columns(ds, keep), keep)


def _to_input_index(out: dict[str, Any], keep: np.ndarray) -> None:
    """Feature indices in ``out`` (top features, permutation candidates) from the model's columns
    to the dataset's."""
    for entries in [*out["top_features"]["per_class"].values(), out["top_features"]["overall"]]:
        for e in entries:
            e["index"] = int(keep[e["index"]])
    scored = out.get("scored") or {}
    if scored.get("indices") is not None:
        scored["indices"] = keep[scored["indices"]].tolist()


def grid_rows(y: np.ndarray, pred: np.ndarray, per_cell: int = GRID_PER_CELL) -> np.ndarray:
    """Positions of up to ``per_cell`` correct and ``per_cell`` wrong samples of every class."""
    rows: list[int] = []
    for c in np.unique(y):
        for ok in (True, False):
            rows += np.flatnonzero((y == c) & ((pred == y) == ok))[:per_cell].tolist()
    return np.array(sorted(rows), dtype=int)


def _settings(method: Method, record: dict[str, Any], settings: ExplainSettings) -> dict[str, Any]:
    kw = method.defaults
    if "steps" in kw:
        kw["steps"] = settings.steps
    if "seed" in kw:
        kw["seed"] = int(record["seed"])
    if "candidates" in kw:
        kw["candidates"] = settings.candidates
    return kw


def _attributions(method: Method, target: Explainable, ds: Dataset, samples: Samples,
                  kw: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any] | None]:
    """A method's attributions and, when it returns them, facts about what it scored."""
    res = method.fn(target, ds, samples, **kw)
    attr, facts = res if isinstance(res, tuple) else (res, None)
    return np.asarray(attr, dtype=np.float32), facts


def _explain_one(method: Method, target: Explainable, control: Callable[[], Explainable] | None,
                 ds: Dataset, samples: Samples, record: dict[str, Any],
                 settings: ExplainSettings, full: tuple[Dataset, np.ndarray | None]
                 ) -> tuple[dict[str, Any], np.ndarray]:
    """One method on the model's view ``ds``; ``full`` (the dataset and the kept columns) maps
    named features back and ranks the signal-to-noise reference over every feature."""
    kw = _settings(method, record, settings)
    t0 = time.perf_counter()
    attr, scored = _attributions(method, target, ds, samples, kw)
    took = time.perf_counter() - t0
    out: dict[str, Any] = {"settings": kw, "time_s": took, "samples": len(samples)}
    own = dict(scored) if scored is not None else None  # model-view indices (before any mapping)
    if scored is not None:
        out["scored"] = scored
    out.update(faithfulness(target, samples, attr, ds.modality, seed=int(record["seed"])))
    if method.name == "ig":
        err = completeness_error(target, samples, attr)
        out["completeness"] = {"max_rel_error": float(err.max()) if err.size else 0.0,
                               "mean_rel_error": float(err.mean()) if err.size else 0.0,
                               "tolerance": COMPLETENESS_TOLERANCE,
                               "holds": bool(err.size == 0 or err.max() <= COMPLETENESS_TOLERANCE)}
    if ds.modality != "image":
        out["top_features"] = features.top_features(ds, attr, samples.y, settings.top_k)
        if full[1] is not None:
            _to_input_index(out, full[1])
        snr = features.snr_overlap(full[0], out["top_features"]["overall"])
        if snr:
            out["snr_overlap"] = snr
    if control is not None:
        idx = own.get("indices") if own else None
        if idx is None:
            rand, _ = _attributions(method, control(), ds, samples, kw)
            a, b, over = attr, rand, "every feature"
        else:  # top-k permutation: score the randomised model on the same candidates, compare those
            rand, _ = _attributions(method, control(), ds, samples, {**kw, "columns": list(idx)})
            a, b, over = attr[..., idx], rand[..., idx], f"the {len(idx)} scored features"
        out["sanity"] = {"spearman_trained_vs_random": rank_correlation(a, b), "over": over}
    return out, attr


def explain_record(record: dict[str, Any], ds: Dataset, run_dir: Path, settings: ExplainSettings,
                   log: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    """Fields to merge into ``record``: ``explanations`` (per method: settings, time, faithfulness,
    completeness, sanity, top features), ``faithfulness`` and ``explain_time_s`` (the primary
    method's)."""
    framework, modality = record.get("framework", ""), ds.modality
    names = settings.methods or DEFAULT_METHODS.get(framework, DEFAULT_METHODS["*"])
    methods = [m for m in map(get_method, names) if m.applies(framework, modality)]
    if not methods:
        return {"explanations": {"skipped": f"none of {', '.join(names)} applies to "
                                            f"{framework} on {modality} data"},
                "faithfulness": None, "explain_time_s": None}
    full = (ds, None)
    ds, keep = model_view(record, ds)
    target, facts = restore(record, ds, run_dir)
    if keep is not None:
        facts["features_explained"] = f"the {len(keep)} selected by the recipe (ANOVA F on train) " \
                                      f"of {full[0].train.x.shape[1]}"
        full = (full[0], keep)
    samples = choose_samples(ds, settings.samples, int(record["seed"]), modality)
    control_cache: list[Explainable] = []

    def control() -> Explainable:
        if not control_cache:
            model, what = randomised(record, ds)
            facts["randomised_model"] = what
            control_cache.append(model)
        return control_cache[0]

    results: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for method in methods:
        log(f"  {record['key']}: {method.name} on {len(samples)} samples ...")
        results[method.name], arrays[method.name] = _explain_one(
            method, target, control if settings.sanity else None, ds, samples, record, settings, full)
    pred = target.predict_proba(samples.x).argmax(axis=1)
    if modality == "image":
        _save_grid(run_dir, record["key"], samples, pred, arrays)
    primary = next(m for m in PRIMARY_ORDER + tuple(results) if m in results)
    return {
        "explanations": {
            **facts,
            "baseline": baselines.describe(modality),
            "n_samples": len(samples),
            "sample_seed": int(record["seed"]),
            "primary": primary,
            "arrays": f"{EXPLANATIONS_DIR}/{array_name(record['key'])}" if modality == "image" else None,
            "methods": results,
        },
        "faithfulness": results[primary]["faithfulness"],
        "explain_time_s": results[primary]["time_s"],
    }


def array_name(key: str) -> str:
    """The npz file name of a record key."""
    return f"{safe_filename(key.replace('|', '__'), 100)}.npz"


def _save_grid(run_dir: Path, key: str, samples: Samples, pred: np.ndarray,
               arrays: dict[str, np.ndarray]) -> None:
    """The report grid's images (correct and wrong, every class), labels and maps, as npz."""
    import io

    from benchmarks.core.atomic import atomic_write_bytes

    rows = grid_rows(samples.y, pred)
    out = {"x": samples.x[rows], "y": samples.y[rows], "pred": pred[rows], "index": samples.index[rows],
           **{f"attr_{m}": a[rows] for m, a in arrays.items()}}
    buf = io.BytesIO()
    np.savez_compressed(buf, **out)
    folder = Path(run_dir) / EXPLANATIONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / array_name(key), buf.getvalue())
