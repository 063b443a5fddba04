"""``export model`` and ``deploy`` over the records of a run folder (all checks before any work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from benchmarks.deploy.artifacts import export_record, formats_for
from benchmarks.deploy.source import check_exportable, find_records, load_source

Log = Callable[[str], None]


def default_output(run_dir: Path) -> Path:
    """Where artifacts go by default: ``RUN_DIR/artifacts``."""
    return Path(run_dir) / "artifacts"


def _selected(run_dir: Path, model: str | None, dataset: str | None, seed: int | None,
              formats: tuple[str, ...] | None, output: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from benchmarks.core.atomic import check_writable_dir

    records, meta = find_records(run_dir, model, dataset, seed)
    for r in records:  # fail before any work: failed record, no checkpoint, nothing applies
        check_exportable(r, Path(run_dir))
        formats_for(r["framework"], formats)
    check_writable_dir(output, "--output")
    return records, meta


def export_folder(run_dir: Path, *, model: str | None = None, dataset: str | None = None,
                  seed: int | None = None, formats: tuple[str, ...] | None = None,
                  output: Path | None = None, data_dir: Path | None = None, log: Log = print) -> list[Path]:
    """Export every matching record's artifacts; returns their folders."""
    run_dir = Path(run_dir)
    output = Path(output) if output else default_output(run_dir)
    records, meta = _selected(run_dir, model, dataset, seed, formats, output)
    return [export_record(load_source(run_dir, r, meta, data_dir), output, formats, log) for r in records]


def deploy_run(run_dir: Path, *, model: str | None = None, dataset: str | None = None,
               seed: int | None = None, formats: tuple[str, ...] | None = None,
               output: Path | None = None, data_dir: Path | None = None, latency_calls: int = 200,
               log: Log = print) -> list[dict[str, Any]]:
    """Export and measure every matching record; the ``deployment`` field goes into results.json
    (rewritten atomically after each record); returns the updated records."""
    from benchmarks.deploy.measure import deploy_folder
    from benchmarks.records.results import ResultsStore

    run_dir = Path(run_dir)
    if run_dir.is_file():
        run_dir = run_dir.parent
    output = Path(output) if output else default_output(run_dir)
    records, meta = _selected(run_dir, model, dataset, seed, formats, output)
    store = ResultsStore(run_dir)
    done = []
    for r in records:
        src = load_source(run_dir, r, meta, data_dir)
        folder = export_record(src, output, formats, log)
        rec = {**r, "deployment": deploy_folder(src, folder, latency_calls, log)}
        store.append(rec)
        done.append(rec)
    return done
