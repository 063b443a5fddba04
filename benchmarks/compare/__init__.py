"""``compare BASELINE CURRENT``: per (model, dataset) and metric, baseline vs current with a verdict
(better / same / worse / missing / not comparable), as a table, GitHub markdown or JSON.
A metric or pair the baseline has and the current run lacks is ``missing`` and fails like worse.

- ``thresholds``: the catalogue's per-metric defaults merged with ``thresholds.toml`` and a user file;
- ``verdicts``: rows and ``compare_records`` (a pure function of two record lists);
- ``render``: text, GitHub and JSON output;
- ``paired``: the paired verdicts of ``ab`` (two revisions in interleaved rounds on one machine).

The command line is ``benchmarks.commands.compare``. Exit code 0: nothing worse; 1: something
worse or missing; 2: bad input.
"""

from benchmarks.compare.render import render, render_github, render_text
from benchmarks.compare.thresholds import DEFAULT_THRESHOLDS, Thresholds
from benchmarks.compare.verdicts import FAIL_ON, VERDICTS, Comparison, Row, compare_records
from benchmarks.records.stats import mann_whitney_p, min_exact_p, pooled_std

__all__ = ["DEFAULT_THRESHOLDS", "FAIL_ON", "VERDICTS", "Comparison", "Row", "Thresholds",
           "compare_records", "mann_whitney_p", "min_exact_p", "pooled_std", "render", "render_github",
           "render_text"]
