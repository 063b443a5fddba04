"""Paired A/B speed runs: two revisions of this repository on one machine, in one job.

Speed measured on different machines cannot be compared (a control benchmark does not normalise
across CPU generations), so ``ab`` measures both revisions here and now: a temporary git worktree
per revision (the working tree itself when no head revision is named), both run from the *same*
Python environment (``python -m benchmarks run`` with cwd and ``PYTHONPATH`` set to the
checkout), alternately in rounds A B, B A, A B, ... so that drift and load hit both sides alike.
Each run (one model, one revision) writes a normal results folder under
``OUT/{base,head}/round-N/MODEL``; they are read back and compared per round
(``benchmarks.compare.paired``).

Only ``run`` flags that every revision since the oldest supported one has are used
(``--model --dataset --profile --seeds --epochs --patience --output``); the ``speed`` profile is
used when both revisions have it, else ``quick`` with the same epochs and patience.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from benchmarks.core.errors import OncobenchError

# Extras that only serve development; a difference there does not change what a benchmark runs.
DEV_EXTRAS = ("test", "dev", "docs", "lint")
RUN_FLAGS = ("--model", "--dataset", "--profile", "--seeds", "--epochs", "--patience", "--output")


class AbUnavailable(OncobenchError):
    """The A/B comparison cannot be made here (base revision cannot run, dependencies differ):
    exit code 3, which CI reads as "skip the speed check"."""

    exit_code = 3


@dataclass(frozen=True)
class Revision:
    """One side of the A/B: a checkout to run from."""

    name: str  # "base" | "head"
    label: str  # e.g. "HEAD~1 (1a2b3c4)" or "working tree (1a2b3c4+changes)"
    path: Path


@dataclass(frozen=True)
class AbSettings:
    """What each round runs."""

    models: tuple[str, ...]
    datasets: tuple[str, ...]
    rounds: int = 5
    epochs: int | None = None  # None: the speed profile's
    repeats: int = 3  # seeds per run; a round's value is the best repeat
    timeout_s: float = 1800.0  # per run


def git(repo: Path, *args: str) -> str:
    """``git -C repo ARGS`` stdout (stripped); OncobenchError with git's message on failure."""
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OncobenchError("ab needs git on PATH; install git") from None
    if out.returncode != 0:
        msg = (out.stderr or out.stdout).strip().splitlines()
        raise OncobenchError(f"git {' '.join(args)}: {msg[-1] if msg else 'failed'}")
    return out.stdout.strip()


def repo_root(start: Path | None = None) -> Path:
    """The top of the git working tree holding ``start`` (default: the current directory)."""
    try:
        return Path(git(start or Path.cwd(), "rev-parse", "--show-toplevel"))
    except OncobenchError:
        raise OncobenchError(f"{start or Path.cwd()}: not inside a git repository; run ab from a "
                             "clone of oncobench") from None


def resolve_commit(repo: Path, rev: str) -> str:
    """The full commit id of ``rev``; a one-line error naming the revision otherwise."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except OncobenchError:
        shallow = rev.startswith("HEAD~")
        hint = " (a shallow clone? fetch more history: git fetch --deepen 1)" if shallow else ""
        raise OncobenchError(f"{rev!r}: not a commit in {repo}{hint}; pass a branch, tag or commit") from None


@contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A temporary detached worktree of ``commit``, removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="oncobench-ab-"))
    path = tmp / commit[:12]
    git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(path)],
                       capture_output=True, check=False)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, check=False)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AbUnavailable(f"{path}: cannot read the declared dependencies ({exc})") from None


def declared_dependencies(checkout: Path) -> dict[str, Any]:
    """What a checkout's pyproject.toml asks to be installed for running benchmarks: requires-python,
    dependencies and the optional extras other than development ones (``DEV_EXTRAS``)."""
    project = _toml(checkout / "pyproject.toml").get("project", {})
    extras = {k: sorted(v) for k, v in (project.get("optional-dependencies") or {}).items()
              if k not in DEV_EXTRAS}
    return {"requires-python": project.get("requires-python"),
            "dependencies": sorted(project.get("dependencies") or []), "extras": extras}


def check_same_dependencies(base: Revision, head: Revision) -> None:
    """Refuse (AbUnavailable) when the revisions declare different dependencies: both run from this
    one environment, so one of them would run with packages it did not ask for."""
    db, dh = declared_dependencies(base.path), declared_dependencies(head.path)
    if db == dh:
        return
    diffs = []
    for key in ("requires-python", "dependencies", "extras"):
        if db[key] != dh[key]:
            if isinstance(db[key], list):
                only_b = sorted(set(db[key]) - set(dh[key]))
                only_h = sorted(set(dh[key]) - set(db[key]))
                diffs.append(f"{key}: base only {only_b}, head only {only_h}")
            else:
                diffs.append(f"{key}: {db[key]!r} vs {dh[key]!r}")
    raise AbUnavailable(f"{base.label} and {head.label} declare different dependencies in pyproject.toml "
                        f"({'; '.join(diffs)}); ab runs both from one environment, so it cannot compare "
                        "them: compare on one machine by hand in two environments")


def _env(checkout: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(checkout)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_help(rev: Revision) -> str:
    """``python -m benchmarks run --help`` of a revision (AbUnavailable when it has no such command)."""
    out = subprocess.run([sys.executable, "-m", "benchmarks", "run", "--help"], cwd=rev.path,
                         env=_env(rev.path), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()
        raise AbUnavailable(f"{rev.label}: `python -m benchmarks run --help` failed "
                            f"({tail[-1] if tail else 'no output'}); this revision cannot be benchmarked "
                            "here")
    return out.stdout


def check_runnable(rev: Revision) -> None:
    """AbUnavailable unless the revision's ``run`` has every flag ab passes (``RUN_FLAGS``)."""
    text = run_help(rev)
    missing = [f for f in RUN_FLAGS if f not in text]
    if missing:
        raise AbUnavailable(f"{rev.label}: its `run` command lacks {', '.join(missing)}; this revision "
                            "predates what ab needs")


def has_profile(rev: Revision, name: str) -> bool:
    """Whether the revision's ``benchmarks.config`` knows profile ``name`` (imports no TensorFlow)."""
    code = f"from benchmarks.config import get_profile; get_profile({name!r})"
    out = subprocess.run([sys.executable, "-c", code], cwd=rev.path, env=_env(rev.path),
                         capture_output=True, check=False)
    return out.returncode == 0


def run_command(model: str, settings: AbSettings, profile: str, epochs: int, out: Path) -> list[str]:
    """The ``run`` command line of one model in one round (flags every supported revision has)."""
    return [sys.executable, "-m", "benchmarks", "run", "--model", model,
            "--dataset", ",".join(settings.datasets), "--profile", profile,
            "--seeds", ",".join(str(i) for i in range(settings.repeats)),
            "--epochs", str(epochs), "--patience", str(epochs), "--output", str(out)]


def round_order(rounds: int, models: Sequence[str] = ("",)) -> list[tuple[int, str, str]]:
    """(round, model, side) in run order: per model A B in even rounds, B A in odd ones, so each
    side goes first equally often. Each model runs in its own process (no state shared between
    benchmarks, e.g. a big model's thread pool slowing a small one)."""
    order = []
    for i in range(rounds):
        pair = ("base", "head") if i % 2 == 0 else ("head", "base")
        order += [(i, m, side) for m in models for side in pair]
    return order


def run_once(rev: Revision, cmd: list[str], log: Path, timeout_s: float) -> None:
    """One ``run`` of a revision; a base that fails is AbUnavailable, a head that fails an error."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as fh:
        try:
            rc = subprocess.run(cmd, cwd=rev.path, env=_env(rev.path), stdout=fh, stderr=subprocess.STDOUT,
                                timeout=timeout_s, check=False).returncode
        except subprocess.TimeoutExpired:
            rc = None
    out = Path(cmd[cmd.index("--output") + 1])
    if rc in (0, 1) and (out / "results.json").is_file():  # 1: some runs failed, recorded as failed
        return
    what = f"timed out after {timeout_s:.0f} s" if rc is None else f"exit code {rc}"
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
    msg = f"{rev.label}: `{' '.join(cmd[1:])}` {what} ({tail[0][:200]}); log: {log}"
    raise (AbUnavailable if rev.name == "base" else OncobenchError)(msg)


@dataclass(frozen=True)
class AbRuns:
    """The run folders of both sides, round by round (one folder per model), and how they ran."""

    base: Revision
    head: Revision
    base_dirs: list[list[Path]]
    head_dirs: list[list[Path]]
    profile: str
    epochs: int
    repeats: int = 1


def run_rounds(base: Revision, head: Revision, settings: AbSettings, out: Path,
               progress: Any = None) -> AbRuns:
    """Check both revisions can run, then run them in alternating rounds into ``out``."""
    from benchmarks.config import get_profile

    for rev in (base, head):
        check_runnable(rev)
    check_same_dependencies(base, head)
    both_speed = has_profile(base, "speed") and has_profile(head, "speed")
    profile = "speed" if both_speed else "quick"
    epochs = settings.epochs or get_profile("speed").epochs
    dirs: dict[str, list[list[Path]]] = {s: [[] for _ in range(settings.rounds)] for s in ("base", "head")}
    revs = {"base": base, "head": head}
    for i, model, side in round_order(settings.rounds, settings.models):
        run_dir = out / side / f"round-{i + 1}" / model
        if progress:
            progress(f"round {i + 1}/{settings.rounds}: {model} {side} ({revs[side].label})")
        log = out / "logs" / f"{side}-{i + 1}-{model}.log"
        run_once(revs[side], run_command(model, settings, profile, epochs, run_dir), log, settings.timeout_s)
        dirs[side][i].append(run_dir)
    return AbRuns(base, head, dirs["base"], dirs["head"], profile, epochs, settings.repeats)


def read_rounds(rounds: Sequence[Sequence[Path]]) -> list[list[dict[str, Any]]]:
    """Each round's records, read back from its results folders."""
    from benchmarks.records.results import NAMED, load_results

    return [[r for d in dirs for r in load_results(d, NAMED)["records"]] for dirs in rounds]


def describe(repo: Path, rev: str | None, commit: str) -> str:
    """``REV (abc1234)``, or for the working tree ``working tree (abc1234[+changes])``."""
    short = commit[:7]
    if rev is None:
        dirty = bool(git(repo, "status", "--porcelain", "--untracked-files=no"))
        return f"working tree ({short}{'+changes' if dirty else ''})"
    return f"{rev} ({short})"


@contextmanager
def revisions(repo: Path, base_rev: str, head_rev: str | None) -> Iterator[tuple[Revision, Revision]]:
    """Base (and, when named, head) checked out in temporary worktrees; head defaults to ``repo``."""
    base_commit = resolve_commit(repo, base_rev)
    head_commit = resolve_commit(repo, head_rev or "HEAD")
    with ExitStack() as stack:
        base_path = stack.enter_context(worktree(repo, base_commit))
        base = Revision("base", describe(repo, base_rev, base_commit), base_path)
        head_path = repo if head_rev is None else stack.enter_context(worktree(repo, head_commit))
        head = Revision("head", describe(repo, head_rev, head_commit), head_path)
        yield base, head


def compare_runs(runs: AbRuns, thresholds: Any = None, confidence: float = 0.95, method: str = "t") -> Any:
    """The paired comparison (``benchmarks.compare.Comparison``) of the runs' results folders."""
    from benchmarks.compare.paired import compare_rounds
    from benchmarks.records.baseline import machine_of

    base, head = read_rounds(runs.base_dirs), read_rounds(runs.head_dirs)
    env = next((r.get("environment") for rnd in base + head for r in rnd if r.get("environment")), None)
    cmp = compare_rounds(base, head, thresholds, baseline_label=runs.base.label,
                         current_label=runs.head.label, machine=machine_of(env),
                         confidence=confidence, method=method)
    cmp.notes.append(f"profile {runs.profile}, {runs.epochs} epochs without early stopping, "
                     f"{runs.repeats} repeat(s) per run, {len(runs.base_dirs)} rounds per side")
    if runs.profile != "speed":
        cmp.notes.append("the base revision has no `speed` profile: both sides ran `quick` with the same "
                         "epochs (fewer latency calls, noisier)")
    return cmp


MICRO_TESTS = "tests/perf/test_micro.py"
MICRO_METRIC = "median_s_per_call"


def micro_command(storage: Path, save: str, compare_to: str | None, k: str | None) -> list[str]:
    """pytest-benchmark run of the micro-benchmarks, saved under ``storage`` as ``save``; with
    ``compare_to`` (a saved run id) pytest-benchmark prints its own comparison too."""
    cmd = [sys.executable, "-m", "pytest", MICRO_TESTS, "-q", "-p", "no:cacheprovider", "--benchmark-only",
           f"--benchmark-storage=file://{storage}", f"--benchmark-save={save}"]
    if compare_to:
        cmd.append(f"--benchmark-compare={compare_to}")
    if k:
        cmd += ["-k", k]
    return cmd


def _saved(storage: Path, save: str) -> Path | None:
    found = sorted(storage.glob(f"**/*_{save}.json"))
    return found[-1] if found else None


def micro_medians(path: Path) -> dict[str, float]:
    """Per micro-benchmark (pytest node name): median seconds per call, from a saved run."""
    import json

    doc = json.loads(path.read_text(encoding="utf-8"))
    return {b["name"]: float(b["stats"]["median"]) for b in doc.get("benchmarks", [])}


def micro_machine(path: Path) -> dict[str, Any]:
    """The machine of a saved pytest-benchmark run, in compare's terms (CPU model and count)."""
    import json

    cpu = (json.loads(path.read_text(encoding="utf-8")).get("machine_info") or {}).get("cpu") or {}
    out = {"device_kind": "CPU", "cpu_model": cpu.get("brand_raw"), "cpu_count": cpu.get("count")}
    return {k: v for k, v in out.items() if v is not None}


def micro_ab(base: Revision, head: Revision, rounds: int, out: Path, rel: float, k: str | None = None,
             confidence: float = 0.95, progress: Any = None) -> Any:
    """Micro-benchmarks of both revisions in alternating rounds (pytest-benchmark ``--benchmark-save``;
    head rounds also ``--benchmark-compare`` with the latest base round), then paired verdicts."""
    from benchmarks.compare.paired import PAIRED_LEGEND, paired_row
    from benchmarks.compare.verdicts import Comparison

    missing = [r.label for r in (base, head) if not (r.path / MICRO_TESTS).is_file()]
    if missing:
        raise AbUnavailable(f"{', '.join(missing)}: no {MICRO_TESTS}; micro A/B needs it on both sides")
    storage = out / "micro"
    medians: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
    revs = {"base": base, "head": head}
    last_base: str | None = None
    for i, _, side in round_order(rounds):
        save = f"{side}-{i + 1}"
        if progress:
            progress(f"micro round {i + 1}/{rounds}: {side} ({revs[side].label})")
        compare_to = last_base if side == "head" else None
        cmd = micro_command(storage, save, compare_to, k)
        log = out / "logs" / f"micro-{save}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as fh:
            rc = subprocess.run(cmd, cwd=revs[side].path, env=_env(revs[side].path), stdout=fh,
                                stderr=subprocess.STDOUT, check=False).returncode
        saved = _saved(storage, save)
        if rc != 0 or saved is None:
            msg = f"{revs[side].label}: micro-benchmarks exit code {rc}; log: {log}"
            raise (AbUnavailable if side == "base" else OncobenchError)(msg)
        if side == "base":
            last_base = saved.stem.split("_", 1)[0]
        medians[side].append(micro_medians(saved))
    machine = micro_machine(saved)
    cmp = Comparison(base.label, head.label, machine, machine, legend=PAIRED_LEGEND)
    names = sorted(set().union(*medians["base"], *medians["head"]))
    for name in names:
        vb = [m.get(name) for m in medians["base"]]
        vh = [m.get(name) for m in medians["head"]]
        cmp.rows.append(paired_row(name, "micro", MICRO_METRIC, vb, vh, rel, False, confidence))
    cmp.notes.append(f"pytest-benchmark runs saved in {storage} (pytest-benchmark's own comparisons "
                     f"in {out / 'logs'})")
    return cmp
