"""The names of the benchmark profiles (their settings live in ``benchmarks.config.PROFILES``).

Here, in the shared core, so that ``models`` can refuse a ``profile_hparams`` entry for an
unknown profile at registration without importing the experiment definition."""

from __future__ import annotations

PROFILE_NAMES = ("quick", "standard", "full", "ci", "speed")
