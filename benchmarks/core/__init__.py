"""The small shared core: errors, paths, atomic writes, hashing, markup, modalities, plugins.

`models/` and `datasets/` may import this package and nothing else of `benchmarks`."""
