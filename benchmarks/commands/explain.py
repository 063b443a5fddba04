"""``explain RESULTS_DIR [--method ig,saliency,permutation] [--samples N]``: explain the saved
models of a finished run (Keras: checkpoints loaded, never retrained; scikit-learn: refitted
with the record's seed) and add explanations and the ``faithfulness`` column to its records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import add_data_dir, add_plugins, add_results_dir, examples
from benchmarks.core.errors import OncobenchError
from benchmarks.core.plugins import load_plugins


def _methods(text: str | None) -> tuple[str, ...] | None:
    """``--method`` as names, each checked against the registry (None: the defaults)."""
    if not text:
        return None
    from benchmarks.explain import get_method

    names = tuple(t.strip() for t in text.split(",") if t.strip())
    for name in names:
        get_method(name)
    return names


def run_plugins(run_dir: Path, given: list[str] | None = None, trust: bool = False) -> list[str]:
    """The plugins of the run folder's ``suite.toml`` to import: only with consent (``--trust-plugins``;
    a plugin passed with ``--plugin`` is the user's own). See ``benchmarks.config.plugin_consent``."""
    from benchmarks.config.plugin_consent import folder_plugins

    return folder_plugins(run_dir, given or [], trust, log=lambda s: print(s, file=sys.stderr, flush=True))


def _needs_plugins(run_dir: Path, given: list[str]) -> None:
    """Without consent: refuse when a record's model or dataset is registered only by a plugin the
    folder names (the run cannot be explained without importing it)."""
    from benchmarks.config.plugin_consent import SUITE_FILE, refusal, untrusted
    from benchmarks.records.results import load_results
    from datasets.registry import list_datasets
    from models.registry import list_models

    refs = untrusted(run_dir / SUITE_FILE, given)
    if not refs:
        return
    records = load_results(run_dir)["records"]
    models, datasets = {m.name for m in list_models()}, {d.name for d in list_datasets()}
    unknown = [r for r in records if r.get("model") not in models
               or (r.get("dataset") not in datasets and ":" not in str(r.get("dataset")))]
    if unknown:
        raise refusal(f"{run_dir / SUITE_FILE}", refs, "explain")


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
    given = list(args.plugin or [])
    load_plugins([*run_plugins(run_dir, given, args.trust_plugins), *given])
    if not args.trust_plugins:
        _needs_plugins(run_dir, given)
    from benchmarks.api import quiet_tensorflow
    from benchmarks.explain.folder import explain_folder

    quiet_tensorflow()
    records = explain_folder(run_dir, settings, data_dir=Path(args.data_dir) if args.data_dir else None,
                             log=lambda s: print(s, file=sys.stderr, flush=True))
    from benchmarks.explain.summary import explain_table

    print(explain_table(records))
    failed = [r.get("key") for r in records if ((r.get("explanations") or {}).get("error"))]
    if failed:
        print(f"explaining failed for {len(failed)} run(s) ({', '.join(map(str, failed[:3]))}"
              f"{', ...' if len(failed) > 3 else ''}); see the lines above", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explain`` parser."""
    p = sub.add_parser("explain", help="explain a finished run's models (attributions, faithfulness)",
                       description="Attributions for the test predictions of every model of a finished "
                                   "run: Integrated Gradients, saliency, SmoothGrad (Keras), permutation "
                                   "importance (expression/tabular) and occlusion (images) for any model; "
                                   "deletion-curve faithfulness, a model-randomisation sanity check and "
                                   "named top features go into results.json.")
    add_results_dir(p, "a finished run folder")
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
    examples(p, """  python -m benchmarks explain results/20261206-120000
  python -m benchmarks explain results/20261206-120000 --method ig,permutation --samples 50""")
    p.set_defaults(func=run)
