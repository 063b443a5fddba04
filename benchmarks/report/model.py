"""The report's data: what ``build`` assembles and the renderers (markdown, html) read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.report import analysis
from benchmarks.report.analysis import DatasetSection


@dataclass(frozen=True)
class FigureRef:
    """One PNG: its file name under ``figures/``, a caption, and its bytes (for embedding)."""

    name: str
    caption: str
    png: bytes


@dataclass
class SectionFigures:
    overview: list[FigureRef] = field(default_factory=list)
    per_model: dict[str, list[FigureRef]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # model -> what could not be drawn


@dataclass
class Report:
    """Everything the renderers need."""

    run_id: str
    meta: dict[str, Any]
    command: str | None
    generated_at: str
    records: list[dict[str, Any]]
    sections: list[DatasetSection]
    figures: dict[str, SectionFigures]
    colors: dict[str, str]
    ranking_figures: list[FigureRef] = field(default_factory=list)  # CD diagrams, one per ranking

    @property
    def env(self) -> dict[str, Any]:
        return analysis.environment(self.meta, self.records)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return analysis.failed_records(self.records)
