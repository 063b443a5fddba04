"""Sub-commands of ``oncobench`` / ``python -m benchmarks``, one module each.

Each module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int``, and imports nothing heavy (no TensorFlow) at module level.
Shared argument groups live in ``benchmarks.commands.args``.
"""

from __future__ import annotations

# Sub-command modules, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "benchmarks.commands.listing",
    "benchmarks.commands.run",
    "benchmarks.commands.download",
    "benchmarks.commands.baseline",
    "benchmarks.commands.compare",
    "benchmarks.commands.ab",
    "benchmarks.commands.report",
    "benchmarks.commands.rank",
    "benchmarks.commands.explain",
    "benchmarks.commands.export",
    "benchmarks.commands.deploy",
    "benchmarks.commands.serve",
    "benchmarks.commands.tune",
    "benchmarks.commands.speed",
)
