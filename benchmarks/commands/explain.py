"""``explain RESULTS_DIR [--method ig,saliency,permutation] [--samples N]``: explain the saved
models of a finished run (Keras: checkpoints loaded, never retrained; scikit-learn: refitted
with the record's seed) and add explanations and the ``faithfulness`` column to its records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import add_data_dir, add_plugins
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import is_file_reference, load_plugins


def _methods(text: str | None) -> tuple[str, ...] | None:
    """``--method`` as names, each checked against the registry (None: the defaults)."""
    if not text:
        return None
    from benchmarks.explain import get_method

    names = tuple(t.strip() for t in text.split(",") if t.strip())
    for name in names:
        get_method(name)
    return names


def run_plugins(run_dir: Path) -> list[str]:
    """The plugins a run folder's ``suite.toml`` names that can be found from here (modules, and
    files that exist): the models and datasets of its records register again."""
    from benchmarks.config.suite import SUITE_FILE, read_toml

    path = run_dir / SUITE_FILE
    refs = read_toml(path).get("plugins") or [] if path.exists() else []
    return [r for r in refs if isinstance(r, str) and (not is_file_reference(r) or Path(r).exists())]


def settings_from_args(args: argparse.Namespace):
    """The ``ExplainSettings`` of the command line, validated."""
    from benchmarks.explain.record import ExplainSettings

    for flag, value in (("--samples", args.samples), ("--steps", args.steps), ("--top-k", args.top_k)):
        if value is not None and value < 1:
            raise OncobenchError(f"{flag} {value}: must be at least 1")
    if args.candidates is not None and args.candidates < 0:
        raise OncobenchError(f"--candidates {args.candidates}: must be 0 (every feature) or more")
    base = ExplainSettings()
    return ExplainSettings(methods=_methods(args.method),
                           samples=args.samples or base.samples, steps=args.steps or base.steps,
                           top_k=args.top_k or base.top_k, sanity=not args.no_sanity,
                           candidates=base.candidates if args.candidates is None else args.candidates)


def run(args: argparse.Namespace) -> int:
    """Explain every finished record; print faithfulness and timings per record."""
    settings = settings_from_args(args)
    run_dir = Path(args.results_dir)
    if not run_dir.exists():
        raise OncobenchError(f"{run_dir}: no such results folder")
    load_plugins([*run_plugins(run_dir), *(args.plugin or [])])
    from benchmarks.api import quiet_tensorflow
    from benchmarks.explain.folder import explain_folder

    quiet_tensorflow()
    records = explain_folder(run_dir, settings, data_dir=Path(args.data_dir) if args.data_dir else None,
                             log=lambda s: print(s, file=sys.stderr, flush=True))
    from benchmarks.explain.summary import explain_table

    print(explain_table(records))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explain`` parser."""
    p = sub.add_parser("explain", help="explain a finished run's models (attributions, faithfulness)",
                       description="Attributions for the test predictions of every model of a finished "
                                   "run: Integrated Gradients, saliency, SmoothGrad (Keras), permutation "
                                   "importance (expression/tabular) and occlusion (images) for any model; "
                                   "deletion-curve faithfulness, a model-randomisation sanity check and "
                                   "named top features go into results.json.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="a finished run folder")
    add_plugins(p)
    p.add_argument("--method", help="comma-separated: ig, saliency, smoothgrad, permutation, occlusion "
                                    "(default: Keras ig,saliency,occlusion; others permutation,occlusion; "
                                    "each where it applies)")
    p.add_argument("--samples", type=int, help="test samples explained per run (default 100)")
    p.add_argument("--steps", type=int, help="Integrated Gradients steps (default 50)")
    p.add_argument("--top-k", type=int, help="top features kept per class (default 50)")
    p.add_argument("--candidates", type=int,
                   help="permutation importance: permute only the N features a cheap pre-ranking on the "
                        "training split puts first (the model's feature_importances_ or |coef_|, else "
                        "ANOVA F); 0 permutes every feature (default 200)")
    p.add_argument("--no-sanity", action="store_true", help="skip the model-randomisation check")
    add_data_dir(p)
    p.set_defaults(func=run)
