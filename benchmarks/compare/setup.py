"""Two sides are comparable only when they ran the same profile over the same datasets.

A ``ci`` baseline against a ``standard`` run differs by the profile (epochs, batch, seeds, early
stopping), not by the code: its verdicts would be noise. ``compare`` refuses it before any table
(one line, exit code 2) unless ``--allow-different-profiles``.
"""

from __future__ import annotations

from typing import Any, Iterable

from benchmarks.core.errors import OncobenchError

ALLOW_FLAG = "--allow-different-profiles"


def _values(records: Iterable[dict[str, Any]], key: str) -> set[str]:
    return {str(r[key]) for r in records if r.get(key) is not None}


def _show(values: set[str]) -> str:
    shown = sorted(values)
    return ", ".join(shown[:6]) + (f" and {len(shown) - 6} more" if len(shown) > 6 else "") or "none"


def setup_differences(baseline: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[str]:
    """What differs between the two sides' profiles and dataset sets (empty: comparable)."""
    out = []
    bp, cp = _values(baseline, "profile"), _values(current, "profile")
    if bp and cp and bp != cp:
        out.append(f"profile {_show(bp)} vs {_show(cp)}")
    bd, cd = _values(baseline, "dataset"), _values(current, "dataset")
    if bd != cd:
        only_b, only_c = bd - cd, cd - bd
        parts = ([f"only the baseline has {_show(only_b)}"] if only_b else []) + \
                ([f"only the current run has {_show(only_c)}"] if only_c else [])
        out.append(f"datasets differ ({'; '.join(parts)})")
    return out


def check_same_setup(baseline: list[dict[str, Any]], current: list[dict[str, Any]], *,
                     baseline_label: str = "baseline", current_label: str = "current",
                     allow: bool = False) -> list[str]:
    """Refuse (``OncobenchError``, exit 2) when the sides differ in profile or datasets, unless
    ``allow``; returns the differences (for a note when allowed)."""
    diffs = setup_differences(baseline, current)
    if diffs and not allow:
        raise OncobenchError(
            f"compare {baseline_label} with {current_label}: {'; '.join(diffs)}; their differences would "
            f"come from the setup, not the code; compare runs of one profile over the same datasets, "
            f"or pass {ALLOW_FLAG}")
    return diffs
