"""Sub-commands of ``python -m benchmarks``: one module per command, each exposing
``register(subparsers)``."""
