"""``python -m benchmarks`` (the same as the ``oncobench`` console script)."""

import sys

from benchmarks.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m benchmarks"))
