"""``serve ARTIFACT_OR_RUN... [--host 127.0.0.1] [--port 8080] [--loadtest]``: serve exported
artifacts on the Open Inference Protocol (v2) REST, or load-test them with locust
(``benchmarks.serve``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.commands.args import add_output, examples
from benchmarks.core.errors import OncobenchError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _floats(text: str, flag: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise OncobenchError(f"{flag} {text!r}: a comma-separated list of numbers, e.g. 1,8,32") from None
    if any(v <= 0 for v in vals):
        raise OncobenchError(f"{flag} {text!r}: values must be positive")
    return vals


def run(args: argparse.Namespace) -> int:
    """Load the models, then serve until interrupted, or run the load test."""
    if not 0 <= args.port <= 65535:
        raise OncobenchError(f"--port {args.port}: must be 0..65535")
    if args.threads < 0 or args.max_batch < 1 or args.max_body_mb <= 0:
        raise OncobenchError("--threads must be >= 0, --max-batch >= 1 and --max-body-mb > 0")
    concurrency = tuple(int(c) for c in _floats(args.concurrency, "--concurrency"))
    rates = _floats(args.rates, "--rates") if args.rates else ()
    if args.rate_users < 1:
        raise OncobenchError(f"--rate-users {args.rate_users}: must be at least 1")
    if args.requests < 1:
        raise OncobenchError(f"--requests {args.requests}: must be at least 1")
    from benchmarks.serve.models import load_models

    models = load_models([Path(p) for p in args.paths], args.artifact_format, args.threads)
    max_body = int(args.max_body_mb * 1024 * 1024)
    if args.loadtest:
        from benchmarks.serve.loadtest import Plan, loadtest

        plan = Plan(
            concurrency=concurrency,
            requests=args.requests,
            rates=rates,
            rate_users=args.rate_users,
            max_seconds=args.max_seconds,
            p99_bound_ms=args.p99_bound_ms,
        )
        server_args = [
            "--threads",
            str(args.threads),
            "--max-batch",
            str(args.max_batch),
            "--max-body-mb",
            str(args.max_body_mb),
        ] + (["--artifact-format", args.artifact_format] if args.artifact_format else [])
        out = Path(args.output) if args.output else Path(args.paths[0]) / "loadtest"
        loadtest(
            list(args.paths),
            models,
            plan,
            out,
            server_args,
            log=lambda s: print(s, file=sys.stderr, flush=True),
        )
        print((out / "loadtest.md").read_text())
        print(f"wrote {out / 'loadtest.json'} and {out / 'loadtest.png'}")
        return 0
    if args.host not in LOOPBACK:
        print(
            f"warning: binding {args.host}: the server has no authentication; anyone who can reach this "
            "address can call it",
            file=sys.stderr,
        )
    from benchmarks.serve.app import serve_forever

    print(
        f"serving {', '.join(f'{n} ({m.fmt})' for n, m in models.items())} on http://{args.host}:{args.port}/v2",
        file=sys.stderr,
        flush=True,
    )
    serve_forever(models, args.host, args.port, max_body, args.max_batch)
    return 0


DESCRIPTION = (
    "Serve exported artifacts (export model / deploy) on the Open Inference Protocol v2 REST: "
    "/v2/health/live, /v2/health/ready, /v2/models/{name}, /v2/models/{name}/infer, and "
    "/v2/models/{name}/fhir (a FHIR R4 DiagnosticReport). Inputs 'raw' (the artifact's raw input) or, "
    "for image models, 'dicom' (base64 DICOM files). With --loadtest: start the server on 127.0.0.1 and "
    "drive it with locust at fixed concurrency levels and target rates; writes loadtest.json/.md/.png."
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve exported models on the v2 inference protocol (or --loadtest)",
        description=DESCRIPTION,
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="ARTIFACT_OR_RUN",
        help="an artifact folder, a folder of them, or a run folder with artifacts/",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument(
        "--artifact-format",
        choices=("onnx", "savedmodel"),
        help="artifact to serve (default: onnx when exported, else savedmodel)",
    )
    p.add_argument(
        "--threads", type=int, default=1, help="runtime threads per inference (0: runtime default)"
    )
    p.add_argument("--max-batch", type=int, default=256, help="most rows in one request")
    p.add_argument("--max-body-mb", type=float, default=16.0, help="request body limit (MiB)")
    g = p.add_argument_group("load test (--loadtest)")
    g.add_argument("--loadtest", action="store_true", help="run the load test instead of serving")
    g.add_argument("--concurrency", default="1,8,32", help="closed-loop user counts (default 1,8,32)")
    g.add_argument("--requests", type=int, default=2000, help="requests per level (default 2000)")
    g.add_argument(
        "--rates", default="", help="target rates, requests/s (MLPerf server scenario), e.g. 50,100,200"
    )
    g.add_argument(
        "--rate-users", type=int, default=32, help="locust users sharing a target rate (default 32)"
    )
    g.add_argument("--max-seconds", type=float, default=120.0, help="time bound per level (default 120)")
    g.add_argument(
        "--p99-bound-ms", type=float, default=100.0, help="server-scenario p99 bound (default 100 ms)"
    )
    add_output(g, "load-test output folder (default: FIRST_PATH/loadtest)")
    examples(p, """  python -m benchmarks serve results/20261206-120000 --port 8080   # the run's artifacts
  python -m benchmarks serve results/20261206-120000/artifacts/cnn-breastmnist-0 --loadtest""")
    p.set_defaults(func=run)
