"""Reports: report.md and a self-contained report.html for a run folder.

Light at import: the work happens in ``benchmarks.report.build``, imported when a
report is written. The ``report`` sub-command is ``benchmarks.commands.report``.
"""

from __future__ import annotations

from pathlib import Path


def write_report(results_dir: Path, output_dir: Path | None = None, command: str | None = None,
                 extra: tuple[Path, ...] = ()) -> Path:
    """Write ``report.md``, ``report.html`` and ``figures/`` for a results folder (plus the records
    of the ``extra`` run folders, e.g. a ``run --tuned`` run); return the HTML path."""
    from benchmarks.report.build import write_report as _write

    return _write(Path(results_dir), Path(output_dir) if output_dir else None, command, tuple(extra))
