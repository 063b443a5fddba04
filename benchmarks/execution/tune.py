"""Hyper-parameter search with Optuna: the same budget for every model, scored on validation only.

Each model's search space is declared beside its builder (``search_space=`` of
``@register_model``). The objective never sees the test split: ``tuning_views`` builds the
data every trial trains and scores on from the training and validation splits alone (inner
stratified K-fold when there are under ``SMALL_TRAIN`` training samples, else the validation
split), with the view's own "test" being the held-out validation part. The first trial of every
model is its defaults, so the best trial is never worse than the defaults on validation.

Optuna (``pip install oncobench[tune]``) is imported inside functions.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from benchmarks.config import RunConfig
from benchmarks.core.atomic import atomic_write_text
from benchmarks.core.errors import OncobenchError
from datasets.base import Dataset, Split
from models.recipe import Param
from models.registry import ModelSpec

SMALL_TRAIN = 200  # fewer training samples than this: inner stratified K-fold
INNER_VAL = 0.15  # early-stopping split carved from each view's training part
TUNED_JSON = "tuned.json"
TRIALS_JSON = "trials.json"
OBJECTIVES = {"log_loss": "minimize", "roc_auc": "maximize", "accuracy": "maximize",
              "balanced_accuracy": "maximize"}
TUNED_FORMAT = 1


def require_optuna():
    """The optuna module, or a one-line error naming what to install."""
    try:
        import optuna
    except ImportError:
        raise OncobenchError("tune needs Optuna: pip install 'oncobench[tune]' (or pip install optuna)") \
            from None
    return optuna


def _stratified_carve(y: np.ndarray, idx: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y[idx])
    strat = y[idx] if counts[counts > 0].min() >= 2 else None
    a, b = train_test_split(idx, test_size=fraction, stratify=strat, random_state=seed)
    return np.sort(a), np.sort(b)


def tuning_views(ds: Dataset, seed: int, folds: int = 3) -> list[Dataset]:
    """Datasets to train and score a trial on, made from ``ds.train`` and ``ds.val`` only.

    Under ``SMALL_TRAIN`` training samples: stratified ``folds``-fold over train+val, each view
    scoring on its held-out fold; else one view scoring on ``ds.val``. Each view's own val
    split (for early stopping) is carved from its training part. ``ds.test`` is never read.
    """
    if len(ds.train) < SMALL_TRAIN:
        from sklearn.model_selection import StratifiedKFold

        x = np.concatenate([ds.train.x, ds.val.x])
        y = np.concatenate([ds.train.y, ds.val.y])
        k = max(2, min(folds, int(np.bincount(y)[np.bincount(y) > 0].min())))
        skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        parts = [(rest, held) for rest, held in skf.split(np.zeros(len(y)), y)]
    else:
        x = np.concatenate([ds.train.x, ds.val.x])
        y = np.concatenate([ds.train.y, ds.val.y])
        n = len(ds.train)
        parts = [(np.arange(n), np.arange(n, len(y)))]
    views = []
    for i, (rest, held) in enumerate(parts):
        fit, stop = _stratified_carve(y, np.asarray(rest), INNER_VAL, seed + i)
        views.append(replace(ds, train=Split(x[fit], y[fit]), val=Split(x[stop], y[stop]),
                             test=Split(x[held], y[held]), fold=i))
    return views


def suggest(trial: Any, space: dict[str, Param]) -> dict[str, Any]:
    """One value per searched parameter from an Optuna ``trial``."""
    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.kind == "float":
            out[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
        elif p.kind == "int":
            out[name] = trial.suggest_int(name, int(p.low), int(p.high), log=p.log)
        else:
            labels = [repr(c) for c in p.choices]  # tuples and None are not valid Optuna choices
            out[name] = p.choices[labels.index(trial.suggest_categorical(name, labels))]
    return out


def split_params(spec: ModelSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Searched values -> ``{"hparams", "recipe", "learning_rate"}`` (the ``tuned`` entry form)."""
    out: dict[str, Any] = {"hparams": {}, "recipe": {}, "learning_rate": None}
    for k, v in params.items():
        if k == "learning_rate":
            out["learning_rate"] = float(v)
        elif k in spec.defaults:
            out["hparams"][k] = v
        else:
            out["recipe"][k] = v
    return out


def default_params(spec: ModelSpec, config: RunConfig) -> dict[str, Any]:
    """The searched parameters at their default values (trial 0 of every model)."""
    recipe = spec.recipe.as_dict()
    out = {}
    for k, p in spec.search_space.items():
        value = config.learning_rate if k == "learning_rate" else spec.defaults.get(k, recipe.get(k))
        if p.kind == "choice" and value not in p.choices:
            continue  # Optuna samples it
        if p.kind in ("float", "int") and not (p.low <= value <= p.high):
            continue
        out[k] = repr(value) if p.kind == "choice" else value
    return out


def score(metric: str, y: np.ndarray, proba: np.ndarray) -> float:
    """The objective on one validation view."""
    from benchmarks.metrics.classification import classification_metrics, roc_auc

    if metric == "log_loss":
        p = np.clip(proba[np.arange(len(y)), y], 1e-7, 1.0)
        return float(-np.mean(np.log(p)))
    if metric == "roc_auc":
        value = roc_auc(y, proba)
        return float("nan") if value is None else float(value)
    return float(classification_metrics(y, proba, [str(i) for i in range(proba.shape[1])])[metric])


def pruning_callback(trial: Any, step0: int, sign: float = 1.0):
    """A Keras callback reporting ``sign * val_loss`` to Optuna each epoch and stopping hopeless
    trials (``optuna.TrialPruned``); epochs report at steps ``step0 + epoch`` (the median pruner
    compares trials step by step, so these steps never mix with the objective's)."""
    import keras

    optuna = require_optuna()

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_loss")
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(sign * float(value), step0 + epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"val_loss {float(value):.4f} at epoch {epoch + 1}")

    return Pruning()


@dataclass
class PairResult:
    """What tuning one (model, dataset) found."""

    model: str
    dataset: str
    best: dict[str, Any]  # the tuned entry: hparams, recipe, learning_rate
    best_value: float
    default_value: float | None
    trials: list[dict[str, Any]]
    elapsed_s: float


OPTUNA_DB = "optuna.db"  # the default storage in the tune folder: trials kept as they finish


def default_storage(out_dir: Path) -> str:
    """``sqlite:///OUT/optuna.db`` (absolute), the storage ``tune`` resumes from."""
    return f"sqlite:///{Path(out_dir).resolve() / OPTUNA_DB}"


def study_name(spec: ModelSpec, ds: Dataset, config: RunConfig, metric: str, seed: int, folds: int) -> str:
    """The study of one (model, dataset) search: the pair plus a fingerprint of what shapes its
    trials, so a rerun of the same command resumes it and a changed command starts another."""
    from benchmarks.records.results import fingerprint

    shape = {"metric": metric, "seed": seed, "folds": folds, "profile": config.profile,
             "epochs": config.epochs, "space": {k: repr(v) for k, v in spec.search_space.items()}}
    return f"{spec.name}|{ds.name}|{fingerprint(shape)}"


def open_study(storage: str | None, name: str, direction: str, seed: int) -> Any:
    """The Optuna study ``name`` in ``storage`` (created, or loaded to resume); one line on a bad URL."""
    optuna = require_optuna()
    try:
        return optuna.create_study(
            storage=storage, study_name=name, load_if_exists=True, direction=direction,
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3))
    except ImportError as exc:
        raise OncobenchError(f"--optuna-storage {storage}: needs a database driver ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy/Optuna errors on a bad URL or file
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise OncobenchError(f"--optuna-storage {storage}: cannot open the study ({line}); pass a "
                             "database URL such as sqlite:///tune.db, or leave the flag out") from None


@contextlib.contextmanager
def ctrl_c_between_writes() -> Iterator[dict[str, bool]]:
    """Ctrl-C stops a trial that is training at once, but one that comes while Optuna writes a
    trial to its storage waits until the write is done: there it broke Optuna's own bookkeeping
    (``UnboundLocalError`` in ``optuna.study._optimize._run_trial``: a traceback and exit 1 in
    place of "interrupted ... resume with"). Yields the state ``guard_objective`` and
    ``stop_if_interrupted`` read; a pending Ctrl-C is raised on leaving. Only in the main thread
    and only over Python's own handler (an ignored SIGINT stays ignored)."""
    state = {"pending": False, "in_trial": False}
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        if state["in_trial"]:
            raise KeyboardInterrupt
        state["pending"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
    if state["pending"]:
        raise KeyboardInterrupt


def guard_objective(objective: Callable[[Any], float], state: dict[str, bool]) -> Callable[[Any], float]:
    """``objective`` marked as the interruptible part of a trial (see ``ctrl_c_between_writes``)."""
    def guarded(trial: Any) -> float:
        if state["pending"]:
            raise KeyboardInterrupt
        state["in_trial"] = True
        try:
            return objective(trial)
        finally:
            state["in_trial"] = False
    return guarded


def stop_if_interrupted(state: dict[str, bool]) -> Callable[[Any, Any], None]:
    """An Optuna callback (run after each stored trial) that raises a Ctrl-C held meanwhile."""
    def callback(study: Any, trial: Any) -> None:
        if state["pending"]:
            raise KeyboardInterrupt
    return callback


def finished(study: Any) -> int:
    """Trials that count against ``--trials``: completed or pruned (an interrupted one is not)."""
    optuna = require_optuna()
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return sum(1 for t in study.get_trials(deepcopy=False, states=states))


def tune_pair(spec: ModelSpec, ds: Dataset, config: RunConfig, *, trials: int | None,
              budget_s: float | None, metric: str = "log_loss", seed: int = 0, folds: int = 3,
              work_dir: Path | None = None, storage: str | None = None,
              log: Any = None) -> PairResult:
    """Search ``spec``'s space on ``ds``'s validation views (see ``tuning_views``).

    With ``storage`` (an Optuna database URL) every trial is stored as it finishes and a rerun
    resumes the same study: ``trials`` counts the finished ones of every session.
    """
    from benchmarks.execution.harness import run_one

    optuna = require_optuna()
    if not spec.search_space:
        raise OncobenchError(f"model {spec.name!r} declares no search space; add search_space= to its "
                             "@register_model")
    if metric not in OBJECTIVES:
        raise OncobenchError(f"unknown --metric {metric!r}; valid: {', '.join(OBJECTIVES)}")
    views = tuning_views(ds, seed, folds)
    # Tuning measures quality only: no latency/throughput timing.
    cfg = replace(config, latency_calls=1, inference_min_time_s=0.0, seeds=(seed,), tuned={})
    direction = OBJECTIVES[metric]
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are counted below, no tracebacks
    study = open_study(storage, study_name(spec, ds, config, metric, seed, folds), direction, seed)
    before = finished(study)
    if before == 0:  # the defaults first (again, when a first session was cut off before them)
        study.enqueue_trial(default_params(spec, config), user_attrs={"default": True}, skip_if_exists=True)
    elif log is not None:
        log(f"{spec.name} on {ds.name}: resuming {before} finished trial(s) from {storage}")
    work = Path(work_dir or tempfile.mkdtemp(prefix="oncobench-tune-"))

    def objective(trial: Any) -> float:
        params = suggest(trial, spec.search_space)
        entry = split_params(spec, params)
        run_cfg = cfg.with_(hparams={spec.name: entry["hparams"]}, recipes={spec.name: entry["recipe"]},
                            learning_rate=entry["learning_rate"])
        values = []
        for i, view in enumerate(views):
            sign = 1.0 if direction == "minimize" else -1.0
            cbs = [pruning_callback(trial, i * (cfg.epochs + 1), sign)] if spec.framework == "keras" else []
            try:
                rec = run_one(spec, view, seed, run_cfg, run_dir=work, callbacks=cbs)
            except OncobenchError as exc:
                trial.set_user_attr("error", str(exc))
                raise
            proba = np.asarray(rec["test_scores"])
            values.append(score(metric, view.test.y, proba))
            trial.report(float(np.nanmean(values)), (i + 1) * (cfg.epochs + 1) - 1)
        return float(np.nanmean(values))

    t0 = time.perf_counter()
    left = None if trials is None else max(0, trials - before)
    if left != 0:
        with ctrl_c_between_writes() as state:
            study.optimize(guard_objective(objective, state), n_trials=left, timeout=budget_s,
                           catch=(OncobenchError,), callbacks=[stop_if_interrupted(state)])
    elapsed = time.perf_counter() - t0
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        errors = [t.user_attrs["error"] for t in study.trials if t.user_attrs.get("error")]
        why = f" (the last trial failed: {errors[-1]})" if errors else ""
        raise OncobenchError(f"tune {spec.name} on {ds.name}: no trial finished{why}; "
                             "raise --trials or --budget-s")
    best = study.best_trial
    rows = [{"number": t.number, "state": t.state.name.lower(), "value": t.value,
             "params": {k: _plain(v) for k, v in t.params.items()},
             **({"error": t.user_attrs["error"]} if t.user_attrs.get("error") else {}),
             "duration_s": t.duration.total_seconds() if t.duration else None} for t in study.trials]
    default_value = next((t.value for t in done if t.user_attrs.get("default")), None)
    chosen = suggest(optuna.trial.FixedTrial(best.params), spec.search_space)
    return PairResult(spec.name, ds.name, _plain(split_params(spec, chosen)), float(best.value),
                      default_value, rows, elapsed)


def _plain(value: Any) -> Any:
    """JSON-friendly: tuples become lists, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_tuned(out_dir: Path, results: list[PairResult], meta: dict[str, Any]) -> Path:
    """``tuned.json`` (best hyper-parameters per pair, the objective, budgets) and ``trials.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = {f"{r.model}|{r.dataset}": {**r.best, "best_value": r.best_value,
                                       "default_value": r.default_value, "trials": len(r.trials),
                                       "elapsed_s": round(r.elapsed_s, 2)} for r in results}
    doc = {"format": TUNED_FORMAT, "meta": meta, "pairs": pairs}
    path = out_dir / TUNED_JSON
    atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    trials = [{"model": r.model, "dataset": r.dataset, **t} for r in results for t in r.trials]
    atomic_write_text(out_dir / TRIALS_JSON, json.dumps(trials, indent=1) + "\n")
    return path


def load_tuned(path: Path) -> dict[str, dict[str, Any]]:
    """``"model|dataset"`` -> tuned entry (with ``source``) from a ``tuned.json`` (or its folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / TUNED_JSON
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OncobenchError(f"--tuned {path}: no such file; run `tune` first") from None
    except (OSError, ValueError) as exc:
        raise OncobenchError(f"--tuned {path}: not a readable tuned.json ({exc})") from None
    except RecursionError:
        raise OncobenchError(f"--tuned {path}: nested too deeply to be a tuned.json written by `tune`") \
            from None
    if not isinstance(doc, dict) or doc.get("format") != TUNED_FORMAT \
            or not isinstance(doc.get("pairs"), dict):
        raise OncobenchError(f"--tuned {path}: not a tuned.json written by `tune` "
                             f"(format {TUNED_FORMAT})")
    from benchmarks.config import check_tuned

    pairs = check_tuned(f"--tuned {path}", doc["pairs"])
    return {key: {**entry, "source": str(path)} for key, entry in pairs.items()}
