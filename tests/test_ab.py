"""Paired A/B speed comparison (issue 12): paired statistics on known inputs, the paired verdict
logic, the round order, the dependency and runnability checks, and end-to-end ``ab`` runs on a
throw-away git repository."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from benchmarks.cli import main
from benchmarks.compare.paired import AB_METRICS, compare_rounds, paired_row, paired_verdict
from benchmarks.compare.render import render_github, render_text
from benchmarks.records.stats import paired_log_ratios, paired_ratio
from benchmarks.speed import ab

ROOT = Path(__file__).resolve().parent.parent


# --- paired statistics -------------------------------------------------------------------------

def test_paired_ratio_t_interval_matches_hand_computation():
    base, head = [100.0, 200.0, 400.0], [110.0, 240.0, 400.0]
    logs = np.log([1.1, 1.2, 1.0])
    half = sps.t.ppf(0.975, 2) * logs.std(ddof=1) / math.sqrt(3)
    pr = paired_ratio(base, head)
    assert pr.n == 3 and pr.method == "t"
    assert pr.ratio == pytest.approx(math.exp(logs.mean()))
    assert pr.ci_low == pytest.approx(math.exp(logs.mean() - half))
    assert pr.ci_high == pytest.approx(math.exp(logs.mean() + half))
    assert pr.p_value == pytest.approx(sps.ttest_1samp(logs, 0).pvalue)


def test_paired_ratio_is_scale_free_and_exact_without_spread():
    # a constant 10% drop at any scale: ratio 0.9 with a zero-width interval
    pr = paired_ratio([1.0, 1e3, 1e6], [0.9, 900.0, 9e5])
    assert pr.ratio == pytest.approx(0.9) and pr.ci_low == pytest.approx(0.9)
    assert pr.ci_high == pytest.approx(0.9) and pr.p_value is None
    assert pr.fmt() == "0.900 [0.900, 0.900]"


def test_paired_ratio_edge_cases():
    assert paired_ratio([], []).ratio is None and paired_ratio([], []).fmt() == "n/a"
    one = paired_ratio([2.0], [3.0])
    assert one.ratio == pytest.approx(1.5) and one.ci_low is None and one.method == "none"
    # missing / non-positive values drop their pair
    assert paired_log_ratios([1.0, None, 0.0, 2.0], [2.0, 1.0, 1.0, float("nan")]) == [math.log(2)]
    with pytest.raises(ValueError):
        paired_log_ratios([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        paired_ratio([1.0, 2.0], [1.0, 2.0], method="z")


def test_paired_bootstrap_interval_brackets_the_ratio_and_is_reproducible():
    rng = np.random.default_rng(0)
    base = rng.lognormal(0, 0.3, 12)
    head = base * 0.8 * rng.lognormal(0, 0.02, 12)
    a = paired_ratio(base, head, method="bootstrap", seed=1)
    b = paired_ratio(base, head, method="bootstrap", seed=1)
    assert a == b and a.method == "bootstrap"
    assert a.ci_low < a.ratio < a.ci_high and 0.75 < a.ci_low and a.ci_high < 0.85


def test_pairing_removes_round_to_round_drift():
    """Drift of +-40% between rounds hits both sides: the paired interval stays narrow, while the
    pooled spread of either side is far wider than the 10% change."""
    drift = np.array([1.0, 0.6, 1.4, 0.8, 1.2])
    base = 1000 * drift
    head = 900 * drift * np.array([1.01, 0.99, 1.0, 1.02, 0.98])
    pr = paired_ratio(base, head)
    assert 0.86 < pr.ci_low < pr.ratio < pr.ci_high < 0.94
    assert np.std(base) / np.mean(base) > 0.25


# --- verdicts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi,higher,verdict", [
    (0.80, 0.90, True, "worse"),    # throughput: whole interval below 1 - 5%
    (0.90, 1.02, True, "same"),     # straddles the threshold: no evidence
    (0.93, 0.949, True, "worse"),
    (0.96, 0.99, True, "same"),     # a real but small drop, inside the threshold
    (1.06, 1.30, True, "better"),
    (1.20, 1.30, False, "worse"),   # latency: whole interval above 1 + 5%
    (0.70, 0.80, False, "better"),
    (0.70, 1.10, False, "same"),
])
def test_paired_verdict(lo, hi, higher, verdict):
    assert paired_verdict(lo, hi, 0.05, higher) == verdict


def test_paired_row_needs_two_rounds():
    r = paired_row("dnn", "wisconsin", "train_samples_per_s", [100.0, None], [80.0, 90.0], 0.05, True)
    assert r.verdict == "not comparable" and r.n_baseline == 1 and "need 2+" in r.note
    assert r.delta_pct == pytest.approx(-20)


def _rounds(rng, n: int, speed: float = 1.0, noise: float = 0.02, status: str = "ok") -> list[list[dict]]:
    """n rounds of one record per model, with shared round drift applied by the caller."""
    out = []
    for _ in range(n):
        recs = []
        for model in ("logreg", "dnn"):
            j = rng.lognormal(0, noise)
            recs.append({"model": model, "dataset": "wisconsin", "seed": 0, "status": status,
                         "environment": {"cpu_model": "Test CPU", "cpu_count": 2, "device_kind": "CPU"},
                         "train_samples_per_s": 5000 * speed * j,
                         "inference_samples_per_s": 40000 * speed * j,
                         "latency_ms_p50": 0.4 / (speed * j)})
        out.append(recs)
    return out


def test_compare_rounds_self_same_and_slowdown_worse():
    rng = np.random.default_rng(3)
    base = _rounds(rng, 5)
    same = compare_rounds(base, _rounds(rng, 5))
    assert {r.metric for r in same.rows} == set(AB_METRICS)
    assert same.counts()["worse"] == 0 and same.counts()["better"] == 0 and same.exit_code("speed") == 0
    slow = compare_rounds(base, _rounds(rng, 5, speed=0.8))  # 20% slower
    assert slow.exit_code("speed") == 1
    assert all(r.verdict == "worse" for r in slow.rows), [(r.metric, r.verdict) for r in slow.rows]
    row = next(r for r in slow.rows if r.model == "dnn" and r.metric == "latency_ms_p50")
    assert row.basis == "paired" and row.ci_low > 1.05 and row.delta_pct == pytest.approx(25, abs=3)
    text = render_text(slow)
    assert "worse" in text and "paired ratios" in text and "[+" in text
    assert "interleaved rounds" in render_github(slow)


def test_compare_rounds_head_failures_and_missing_pairs():
    rng = np.random.default_rng(4)
    base = _rounds(rng, 3)
    cmp = compare_rounds(base, _rounds(rng, 3, status="failed"))
    status = [r for r in cmp.rows if r.kind == "status"]
    assert status and all(r.verdict == "worse" for r in status) and cmp.exit_code("speed") == 1
    head = [[r for r in rnd if r["model"] == "dnn"] for rnd in _rounds(rng, 3)]
    cmp = compare_rounds(base, head)
    gone = [r for r in cmp.rows if r.model == "logreg"]
    assert len(gone) == 1 and gone[0].verdict == "missing" and cmp.exit_code("speed") == 1
    with pytest.raises(ValueError):
        compare_rounds(base, base[:2])


def test_round_value_is_the_best_repeat():
    from benchmarks.compare.paired import round_value

    recs = [{"thr": 100.0, "lat": 0.5}, {"thr": 40.0, "lat": 2.0}, {"thr": 90.0, "lat": 0.6},
            {"thr": 500.0, "lat": 0.1, "status": "failed"}]
    assert round_value(recs, "thr", True) == 100.0 and round_value(recs, "lat", False) == 0.5
    assert round_value(recs, "missing", True) is None


def test_round_order_alternates_which_side_goes_first():
    assert [(i, s) for i, _, s in ab.round_order(3)] == [
        (0, "base"), (0, "head"), (1, "head"), (1, "base"), (2, "base"), (2, "head")]
    order = ab.round_order(2, ("logreg", "dnn"))
    assert order == [(0, "logreg", "base"), (0, "logreg", "head"), (0, "dnn", "base"), (0, "dnn", "head"),
                     (1, "logreg", "head"), (1, "logreg", "base"), (1, "dnn", "head"), (1, "dnn", "base")]


# --- revisions: dependencies, runnability, end to end ------------------------------------------

def _pyproject(deps: list[str], extras: dict | None = None) -> str:
    lines = ["[project]", 'name = "x"', 'requires-python = ">=3.10"', f"dependencies = {deps!r}"]
    if extras:
        lines.append("[project.optional-dependencies]")
        lines += [f"{k} = {v!r}" for k, v in extras.items()]
    return "\n".join(lines).replace("'", '"') + "\n"


def test_dependency_check(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "pyproject.toml").write_text(_pyproject(["numpy>=1.26", "keras>=3"], {"test": ["pytest>=7"]}))
    (b / "pyproject.toml").write_text(_pyproject(["keras>=3", "numpy>=1.26"], {"test": ["pytest>=8"]}))
    ra, rb = ab.Revision("base", "A", a), ab.Revision("head", "B", b)
    ab.check_same_dependencies(ra, rb)  # order and development extras do not matter
    (b / "pyproject.toml").write_text(_pyproject(["keras>=3", "numpy>=2"]))
    with pytest.raises(ab.AbUnavailable, match=r"base only \['numpy>=1.26'\], head only \['numpy>=2'\]"):
        ab.check_same_dependencies(ra, rb)
    assert ab.AbUnavailable("x").exit_code == 3


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture()
def repo(tmp_path) -> Path:
    """A throw-away git repository holding a copy of this checkout's code."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    r = tmp_path / "repo"
    r.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "breastmnist*", "golub", "pretrained")
    for name in ("benchmarks", "models", "datasets"):
        shutil.copytree(ROOT / name, r / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", r / "pyproject.toml")
    _git(r, "init", "-q")
    _git(r, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(r, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "code")
    return r


def _commit(repo: Path, msg: str) -> str:
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", msg)
    return _git(repo, "rev-parse", "HEAD")


def test_ab_skips_with_exit_3_when_the_base_cannot_run(repo, monkeypatch, capsys):
    """A base revision whose ``run`` lacks the flags ab passes (an old one) is skipped, not failed;
    so is one that declares other dependencies. The temporary worktrees are removed."""
    head = _git(repo, "rev-parse", "HEAD")
    main_py = repo / "benchmarks" / "__main__.py"
    main_py.write_text("print('usage: run [--model M] [--dataset D]')\n")
    old = _commit(repo, "an old revision without run --output")
    monkeypatch.chdir(repo)
    assert main(["ab", old, head, "--output", str(repo.parent / "out")]) == 3
    err = capsys.readouterr().err
    assert "ab skipped:" in err and "lacks --profile" in err and "--output" in err
    _git(repo, "checkout", "-q", head)
    (repo / "pyproject.toml").write_text((repo / "pyproject.toml").read_text().replace(
        '"tabulate>=0.9",', '"tabulate>=0.9", "xgboost>=2",'))
    other = _commit(repo, "a new dependency")
    assert main(["ab", head, other, "--output", str(repo.parent / "out2")]) == 3
    assert "declare different dependencies" in capsys.readouterr().err
    assert len(_git(repo, "worktree", "list").splitlines()) == 1  # temporary worktrees removed
    assert main(["ab", "no-such-rev"]) == 2


@pytest.mark.slow
def test_ab_end_to_end_self(repo, monkeypatch, capsys, tmp_path):
    """``ab HEAD`` against the working tree of a throw-away repo: 2 rounds of logreg on
    wisconsin, results folders per side and round, the verdict table, exit code 0."""
    monkeypatch.chdir(repo)
    out = tmp_path / "ab-out"
    rc = main(["ab", "HEAD", "--model", "logreg", "--dataset", "wisconsin", "--rounds", "2", "--epochs", "2",
               "--repeats", "1", "--output", str(out), "--json"])
    captured = capsys.readouterr()
    import json

    doc = json.loads(captured.out)
    assert rc == doc["exit_code"] and rc in (0, 1)
    rows = doc["rows"]
    assert {r["metric"] for r in rows} == set(AB_METRICS)
    assert all(r["basis"] == "paired" and r["n_baseline"] == 2 == r["n_current"] for r in rows)
    assert all(r["ci_low"] is not None for r in rows)
    for side in ("base", "head"):
        for i in (1, 2):
            assert (out / side / f"round-{i}" / "logreg" / "results.json").is_file()
    assert (out / "ab.json").is_file()
    assert "working tree" in doc["current"]["label"] and "profile speed" in " ".join(doc["notes"])
    assert len(_git(repo, "worktree", "list").splitlines()) == 1
