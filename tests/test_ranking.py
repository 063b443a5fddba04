"""Cross-dataset ranking: ranks, Friedman, Nemenyi's critical difference, and the rank command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.records.ranking import nemenyi_cd, rank_matrix, ranking, rankings, render_text
from benchmarks.records.results import SCHEMA_VERSION, record_key


def test_nemenyi_q_matches_demsar_table():
    """Demšar (2006), Table 5(a): q_0.05 for k = 2..10 classifiers (CD = q sqrt(k(k+1)/(6N)))."""
    published = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}
    for k, q in published.items():
        # the table has 3 decimals
        assert nemenyi_cd(k, 1) / math.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=1e-3)
    assert nemenyi_cd(4, 14) == pytest.approx(2.569 * math.sqrt(20 / 84), abs=1e-3)  # Demšar's example: 1.25


def test_ranks_ties_and_friedman_formula():
    values = np.array([[0.9, 0.8, 0.7], [0.85, 0.85, 0.6], [0.7, 0.9, 0.5], [0.95, 0.9, 0.8]])
    ranks = rank_matrix(values)
    assert ranks[1].tolist() == [1.5, 1.5, 3.0]  # ties share the average rank
    table = {f"d{i}": dict(zip("abc", row)) for i, row in enumerate(values)}
    rk = ranking("t", "accuracy", table, ["a", "b", "c"])
    assert list(rk.mean_ranks) == ["a", "b", "c"]
    assert rk.mean_ranks["a"] == pytest.approx((1 + 1.5 + 2 + 1) / 4)
    # no-tie data: scipy's statistic equals the textbook 12N/(k(k+1)) sum R^2 - 3N(k+1)
    values = np.array([[0.9, 0.8, 0.7], [0.8, 0.85, 0.6], [0.7, 0.9, 0.5], [0.95, 0.9, 0.8], [0.6, 0.7, 0.8]])
    table = {f"d{i}": dict(zip("abc", row)) for i, row in enumerate(values)}
    rk = ranking("t", "accuracy", table, list("abc"))
    n, k = values.shape
    r = rank_matrix(values).mean(axis=0)
    assert rk.friedman_stat == pytest.approx(12 * n / (k * (k + 1)) * (r ** 2).sum() - 3 * n * (k + 1))
    assert 0 < rk.friedman_p < 1 and rk.cd == pytest.approx(nemenyi_cd(3, 5))


def test_lower_is_better_metric_ranks_the_smallest_first():
    table = {"d0": {"a": 0.1, "b": 0.3}, "d1": {"a": 0.2, "b": 0.25}}
    assert list(ranking("t", "brier", table, ["a", "b"]).mean_ranks) == ["a", "b"]


def _recs(model: str, dataset: str, acc: float) -> list[dict]:
    return [{"schema_version": SCHEMA_VERSION, "key": record_key(model, dataset, s, None), "status": "ok",
             "model": model, "dataset": dataset, "seed": s, "fold": None, "accuracy": acc + 0.01 * s}
            for s in range(2)]


def _run_records() -> list[dict]:
    """A run like run --all: image models on two image sets, dnn on two tabular sets."""
    recs = []
    for ds, accs in {"img1": {"cnn": 0.85, "mobilenet": 0.88, "logreg": 0.80, "rf": 0.79},
                     "img2": {"cnn": 0.82, "mobilenet": 0.86, "logreg": 0.81, "rf": 0.78},
                     "tab1": {"dnn": 0.95, "logreg": 0.82, "rf": 0.81},
                     "tab2": {"dnn": 0.97, "logreg": 0.97, "rf": 0.96}}.items():
        for m, a in accs.items():
            recs += _recs(m, ds, a)
    return recs


def test_rankings_of_a_mixed_run():
    rks = rankings(_run_records())
    titles = [rk.title for rk in rks]
    assert titles[0] == "all datasets, models on every dataset (logreg, rf)"
    assert titles[1:] == ["datasets img1, img2", "datasets tab1, tab2"]
    img = rks[1]
    assert list(img.mean_ranks) == ["mobilenet", "cnn", "logreg", "rf"]
    assert img.friedman_p is not None and img.cd == pytest.approx(nemenyi_cd(4, 2))
    assert img.cliques() and all(len(c) >= 2 for c in img.cliques())
    assert rks[0].friedman_p is None  # 2 models: no Friedman test
    text = render_text(rks)
    assert "mean rank" in text and "Nemenyi CD" in text and "only 2 datasets" in text


def test_rank_command(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION, "meta": {},
                                                  "records": _run_records()}))
    assert main(["rank", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Ranking by accuracy over datasets img1, img2" in out and "mobilenet" in out
    assert main(["rank", str(run), "--metric", "roc_auc"]) == 0
    assert "no ranking" in capsys.readouterr().out  # no record has ROC-AUC
    assert main(["rank", str(run), "--metric", "train_time_s"]) == 2
    assert "not a quality metric" in capsys.readouterr().err
    assert main(["rank", str(run), "--alpha", "2"]) == 2  # argparse's errors are one line too
    assert "is not a level in (0, 1)" in capsys.readouterr().err
