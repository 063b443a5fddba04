"""A results folder never runs code by itself: plugins named in a folder's ``suite.toml`` are
imported only with the user's consent.

A run folder may come from someone else; its ``suite.toml`` lists the plugin modules and files
the run used. Importing them runs their code, so commands that reload a folder (``explain``,
``run --config FOLDER/suite.toml``) import them only when the user says so: the same plugin
passed with ``--plugin`` (their own copy), or ``--trust-plugins`` (every plugin the folder names,
each listed on stderr before it is imported). Without consent, a folder whose records need a
plugin is refused in one line naming the plugins and both ways in.

A leaf module: the standard library, ``benchmarks.core.errors`` and ``benchmarks.core.plugins``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from benchmarks.core.errors import OncobenchError, some
from benchmarks.core.plugins import is_file_reference

SUITE_FILE = "suite.toml"
RESULTS_JSON = "results.json"


def _key(ref: str, base: Path | None = None) -> str:
    if not is_file_reference(ref):
        return ref
    path = Path(ref)
    if base is not None and not path.is_absolute():
        path = base / path
    return str(path.resolve())


def named_plugins(suite_file: Path) -> list[str]:
    """The plugin references a suite file names (files resolved against its folder)."""
    from benchmarks.config.suite import read_toml

    suite_file = Path(suite_file)
    if not suite_file.is_file():
        return []
    refs = read_toml(suite_file).get("plugins") or []
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list):
        return []
    base = suite_file.resolve().parent
    return [_key(r, base) if is_file_reference(r) else r for r in refs if isinstance(r, str) and r.strip()]


def untrusted(suite_file: Path, given: Iterable[str]) -> list[str]:
    """Plugins ``suite_file`` names that the user did not pass with ``--plugin``."""
    mine = {_key(r) for r in given}
    return [r for r in named_plugins(suite_file) if _key(r) not in mine]


def is_results_folder(folder: Path) -> bool:
    """True for a run folder (results.json beside suite.toml): its suite.toml is someone's record."""
    return (Path(folder) / RESULTS_JSON).is_file()


def refusal(where: str, refs: list[str], command: str, fix: str = "or pass your copy: --plugin FILE") \
        -> OncobenchError:
    """The one-line refusal: what would be imported, and the two ways to consent."""
    shown = [Path(r).name if is_file_reference(r) else r for r in refs]
    return OncobenchError(f"{where} names plugin(s) {some(shown, 3)}; {command} imports them (runs their "
                          f"code) only if you trust it: add --trust-plugins, {fix}")


def folder_plugins(run_dir: Path, given: Iterable[str], trust: bool, *,
                   log: Callable[[str], None]) -> list[str]:
    """The plugins of ``run_dir``'s suite.toml this command may import: all of them with ``trust``
    (each logged), else none (``needs`` decides whether the run can do without them)."""
    refs = untrusted(Path(run_dir) / SUITE_FILE, given)
    if not refs:
        return []
    if not trust:
        return []
    missing = [r for r in refs if is_file_reference(r) and not Path(r).is_file()]
    if missing:
        raise OncobenchError(f"--trust-plugins: {Path(run_dir) / SUITE_FILE} names plugin file "
                             f"{some(missing, 1)}, which does not exist; pass it with --plugin FILE")
    log(f"--trust-plugins: importing {', '.join(refs)} (named by {Path(run_dir) / SUITE_FILE})")
    return refs


def check_suite_plugins(suite_file: Path, given: Iterable[str], trust: bool) -> None:
    """``run --config FOLDER/suite.toml`` of a run folder: its plugins need ``--trust-plugins`` or
    ``--plugin``. A suite file you wrote yourself (no results.json beside it) is your consent."""
    suite_file = Path(suite_file)
    if trust or not is_results_folder(suite_file.resolve().parent):
        return
    refs = untrusted(suite_file, given)
    if refs:
        raise refusal(f"--config {suite_file}, a run folder's suite,", refs, "run",
                      "or edit a copy's plugins")
