"""Compare's thresholds: the per-metric defaults of the catalogue, merged with
``thresholds.toml`` (statistical settings, control benchmark, per-benchmark overrides) and an
optional user file; validated on load.

Precedence for one metric of one benchmark (later wins): the catalogue entry (threshold,
direction), ``[quality]`` / ``[speed]``, ``[metrics.M]``, then every matching
``[benchmarks."MODEL/DATASET"]`` kind and metric table in file order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from benchmarks.core.errors import OncobenchError
from benchmarks.metrics import catalogue

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")
CONTROLS = ("ref_model_samples_per_s", "matmul_gflops")
# compare's kinds: the catalogue's "cost" metrics are compared as "speed" (machine dependent).
COMPARE_KIND = {"quality": "quality", "cost": "speed"}


def is_number(v: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# key -> (check, what a valid value looks like)
_SETTING_TYPES: dict[str, tuple[Any, str]] = {
    "abs_floor": (lambda v: is_number(v) and v >= 0, "a number >= 0"),
    "k_std": (lambda v: is_number(v) and v >= 0, "a number >= 0"),
    "rel": (lambda v: is_number(v) and v >= 0, "a number >= 0 (0.05 = 5%)"),
    "rel_control": (lambda v: is_number(v) and v >= 0, "a number >= 0 (0.10 = 10%)"),
    "alpha": (lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "control": (lambda v: v in CONTROLS, " or ".join(CONTROLS)),
    "control_drift": (lambda v: is_number(v) and v >= 0, "a number >= 0 (0.15 = 15%)"),
    "higher_is_better": (lambda v: isinstance(v, bool), "true or false"),
    "enabled": (lambda v: isinstance(v, bool), "true or false"),
}
_KIND_KEYS = {"quality": {"metrics", "abs_floor", "k_std"},
              "speed": {"metrics", "rel", "rel_control", "alpha", "control", "control_drift"}}
_CATALOGUE_KIND = {"quality": "quality", "speed": "cost"}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            raise OncobenchError("reading thresholds needs Python 3.11+ or the tomli package; "
                                 "pip install tomli") from None
    if not path.is_file():
        raise OncobenchError(f"{path}: no such thresholds file; pass a TOML file like "
                             f"{DEFAULT_THRESHOLDS.name}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OncobenchError(f"{path}: not valid TOML ({exc}); fix the file") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _check_metric_list(where: str, value: Any, path: Path) -> None:
    """A ``metrics`` list of [quality] / [speed]: catalogue metrics of that kind."""
    kind = _CATALOGUE_KIND[where]
    valid = catalogue.names(kind)
    bad = [m for m in value if m not in valid] if isinstance(value, list) else [value]
    if bad:
        raise OncobenchError(f"{path}: [{where}] metrics: unknown metric(s) {bad}; "
                             f"valid {kind} metrics: {', '.join(valid)}")


def _check_settings(where: str, table: Any, allowed: set[str], path: Path) -> None:
    if not isinstance(table, dict):
        raise OncobenchError(f"{path}: [{where}] must be a table of settings")
    for key, value in table.items():
        if key not in allowed:
            raise OncobenchError(f"{path}: unknown key {key!r} in [{where}]; "
                                 f"valid: {', '.join(sorted(allowed))}")
        if key == "metrics":
            _check_metric_list(where, value, path)
        elif not _SETTING_TYPES[key][0](value):
            raise OncobenchError(f"{path}: [{where}] {key} = {value!r}: expected {_SETTING_TYPES[key][1]}")


def _validate(doc: dict[str, Any], path: Path) -> None:
    unknown = set(doc) - {"quality", "speed", "metrics", "benchmarks"}
    if unknown:
        raise OncobenchError(f"{path}: unknown table(s) {sorted(unknown)}; valid: quality, speed, metrics, "
                             "benchmarks")
    metric_keys = set(_SETTING_TYPES)
    for kind in ("quality", "speed"):
        _check_settings(kind, doc.get(kind, {}), _KIND_KEYS[kind], path)
    for metric, table in doc.get("metrics", {}).items():
        if metric not in catalogue.METRICS:
            raise OncobenchError(f"{path}: [metrics.{metric}]: unknown metric; use one of "
                                 f"{', '.join(catalogue.METRICS)}")
        _check_settings(f"metrics.{metric}", table, metric_keys, path)
    for pattern, tables in doc.get("benchmarks", {}).items():
        if "/" not in pattern or not isinstance(tables, dict):
            raise OncobenchError(f"{path}: [benchmarks.{pattern!r}]: expected a \"MODEL/DATASET\" glob with "
                                 "quality / speed / METRIC sub-tables, e.g. [benchmarks.\"*/golub\".quality]")
        for name, table in tables.items():
            if name not in ("quality", "speed") and name not in catalogue.METRICS:
                raise OncobenchError(f"{path}: [benchmarks.{pattern!r}.{name}]: expected quality, speed or "
                                     "a metric name")
            _check_settings(f"benchmarks.{pattern!r}.{name}", table, metric_keys, path)


def metric_defaults(metric: str) -> dict[str, Any]:
    """The catalogue's per-metric settings: direction and default threshold(s)."""
    m = catalogue.get(metric)
    out: dict[str, Any] = {"higher_is_better": m.higher_is_better, "enabled": True}
    if m.kind == "quality":
        out["abs_floor"] = m.threshold
    else:
        out["rel"] = m.threshold
        out["rel_control"] = m.control_threshold if m.control_threshold is not None else m.threshold
    return out


@dataclass(frozen=True)
class Thresholds:
    """Merged thresholds configuration (defaults plus an optional user file) over the catalogue."""

    doc: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Thresholds":
        doc = _read_toml(DEFAULT_THRESHOLDS)
        _validate(doc, DEFAULT_THRESHOLDS)
        if path is not None:
            user = _read_toml(Path(path))
            _validate(user, Path(path))
            doc = _merge(doc, user)
        return cls(doc)

    def _metrics(self, kind: str) -> list[str]:
        listed = self.doc.get(kind, {}).get("metrics")
        return list(listed) if listed is not None else list(catalogue.compared(_CATALOGUE_KIND[kind]))

    @property
    def quality_metrics(self) -> list[str]:
        """Quality metrics compared by default: the catalogue's, unless [quality] metrics lists them."""
        return self._metrics("quality")

    @property
    def speed_metrics(self) -> list[str]:
        """Speed metrics compared by default: the catalogue's, unless [speed] metrics lists them."""
        return self._metrics("speed")

    def kind_of(self, metric: str) -> str:
        """'quality' (threshold on seed spread) or 'speed' (machine dependent), from the catalogue."""
        if metric not in catalogue.METRICS:
            raise OncobenchError(f"unknown metric {metric!r}; valid: {', '.join(catalogue.METRICS)}")
        return COMPARE_KIND[catalogue.METRICS[metric].kind]

    def settings(self, model: str, dataset: str, metric: str) -> dict[str, Any]:
        """Settings for one metric of one benchmark: catalogue defaults, the kind table, [metrics.M],
        then matching [benchmarks."MODEL/DATASET"] kind and metric tables in file order."""
        kind = self.kind_of(metric)
        out = metric_defaults(metric)
        out.update({k: v for k, v in self.doc.get(kind, {}).items() if k != "metrics"})
        out.update(self.doc.get("metrics", {}).get(metric, {}))
        name = f"{model}/{dataset}"
        for pattern, tables in self.doc.get("benchmarks", {}).items():
            if fnmatchcase(name, pattern):
                out.update(tables.get(kind, {}))
                out.update(tables.get(metric, {}))
        out["kind"] = kind
        return out
