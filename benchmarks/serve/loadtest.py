"""``serve --loadtest``: start the server in its own process on 127.0.0.1, drive each model with
locust (headless, its own process) at fixed concurrency levels (closed loop) and at target rates
(MLPerf server scenario, paced per user), each bounded in requests and seconds; record latency
percentiles, throughput, errors and the server's peak RSS (``loadtest.json``, record style), a
table (``loadtest.md``) and a latency-vs-load plot (``loadtest.png``)."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import OncobenchError
from benchmarks.serve.models import V2_DATATYPES, ServedModel

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
HOST = "127.0.0.1"  # the load test never leaves this machine
SCHEMA = "oncobench.loadtest/1"


@dataclass(frozen=True)
class Plan:
    """What to run: closed-loop concurrency levels, target rates, and the bounds of each level."""

    concurrency: tuple[int, ...] = (1, 8, 32)
    requests: int = 2000
    rates: tuple[float, ...] = ()
    rate_users: int = 32
    max_seconds: float = 120.0
    p99_bound_ms: float = 100.0
    in_process_calls: int = 500


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - 127.0.0.1 only
            return int(r.status)
    except OSError:
        return 0


def start_server(
    paths: list[str], port: int, extra: list[str], log: Path, timeout: float = 180.0
) -> subprocess.Popen:
    """``python -m benchmarks serve PATHS --port P`` as a child process, returned once ready."""
    cmd = [sys.executable, "-m", "benchmarks", "serve", *paths, "--host", HOST, "--port", str(port), *extra]
    fh = open(log, "w")
    proc = subprocess.Popen(
        cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            fh.close()
            raise OncobenchError(
                f"the server exited with {proc.returncode} before it was ready: "
                f"{log.read_text()[-300:].strip()}"
            )
        if _get(f"http://{HOST}:{port}/v2/health/ready") == 200:
            return proc
        time.sleep(0.25)
    stop_server(proc)
    raise OncobenchError(f"the server was not ready within {timeout:.0f} s; see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def peak_rss_mb(pid: int) -> float | None:
    """A process's peak resident memory (VmHWM), MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def request_bodies(model: ServedModel, n: int = 64) -> list[str]:
    """Up to ``n`` single-row v2 infer bodies from the artifact's own raw test inputs."""
    x = np.load(model.folder / "test_inputs.npy")[:n].astype(model.dtype)
    dt = V2_DATATYPES[model.dtype.name]
    return [
        json.dumps(
            {
                "id": f"row{i}",
                "inputs": [
                    {
                        "name": "raw",
                        "shape": [1, *model.sample_shape],
                        "datatype": dt,
                        "data": row.ravel().tolist(),
                    }
                ],
            }
        )
        for i, row in enumerate(x)
    ]


def in_process_latency(model: ServedModel, calls: int) -> dict[str, float]:
    """Single-sample ``predict`` latency in this process (the runtime alone, no HTTP), ms."""
    x = np.load(model.folder / "test_inputs.npy").astype(model.dtype)
    model.predict(x[:1])
    lat = []
    for i in range(calls):
        row = x[i % len(x) : i % len(x) + 1]
        t0 = time.perf_counter()
        model.predict(row)
        lat.append((time.perf_counter() - t0) * 1e3)
    a = np.asarray(lat)
    return {
        "latency_ms_p50": float(np.percentile(a, 50)),
        "latency_ms_p95": float(np.percentile(a, 95)),
        "latency_ms_p99": float(np.percentile(a, 99)),
        "calls": calls,
    }


def run_locust(
    url: str, path: str, bodies: Path, users: int, requests: int, rate: float, max_seconds: float, work: Path
) -> dict[str, Any]:
    """One locust level; returns latency percentiles, throughput and errors."""
    out = work / f"lat-{users}-{rate:g}.json"
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",  # all users at once; paced users then wait a random phase (locustfile on_start)
        str(users),
        "--host",
        url,
        "-t",
        f"{int(max_seconds)}s",
        "--stop-timeout",
        "5",
        "--loglevel",
        "ERROR",
        "--bodies",
        str(bodies),
        "--path",
        path,
        "--max-requests",
        str(requests),
        "--rate",
        str(rate),
        "--latencies-out",
        str(out),
    ]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max_seconds + 60)
    wall = time.monotonic() - t0
    if not out.is_file():
        raise OncobenchError(
            f"locust wrote no latencies (exit {proc.returncode}): {proc.stderr[-300:].strip()}"
        )
    rows = json.loads(out.read_text())["rows"]
    if not rows:
        raise OncobenchError("locust completed no request; is the server answering?")
    lat = np.array([r[0] for r in rows])
    ok = np.array([r[2] for r in rows])
    starts = np.array([r[3] for r in rows])
    span = float(np.max(starts + lat / 1e3) - np.min(starts))
    statuses: dict[str, int] = {}
    for r in rows:
        if not r[2]:
            statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
    return {
        "users": users,
        "target_rate": rate or None,
        "requests": len(rows),
        "errors": int((~ok).sum()),
        "error_statuses": statuses,
        "latency_ms_p50": float(np.percentile(lat, 50)),
        "latency_ms_p95": float(np.percentile(lat, 95)),
        "latency_ms_p99": float(np.percentile(lat, 99)),
        "latency_ms_mean": float(lat.mean()),
        "throughput_rps": len(rows) / span if span > 0 else None,
        "span_s": span,
        "locust_wall_s": wall,
        "bounded_by_time": len(rows) < requests,
    }


def loadtest(
    paths: list[str],
    models: dict[str, ServedModel],
    plan: Plan,
    output: Path,
    server_args: list[str],
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``plan`` against a fresh server; writes loadtest.json / .md / .png under ``output``."""
    from benchmarks.core.atomic import atomic_write_text, check_writable_dir

    check_writable_dir(output, "--output")
    output.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="oncobench-loadtest-") as tmp:
        work = Path(tmp)
        port = free_port()
        proc = start_server(paths, port, server_args, work / "server.log")
        url = f"http://{HOST}:{port}"
        try:
            for name, model in models.items():
                bodies = work / f"{name}.json"
                bodies.write_text(json.dumps(request_bodies(model)))
                base = {
                    "model_name": name,
                    "model": model.manifest["record"]["model"],
                    "dataset": model.manifest["record"]["dataset"],
                    "format": model.fmt,
                    "runtime": {"onnx": "onnxruntime", "savedmodel": "tensorflow"}[model.fmt],
                    "artifact_sha256": model.manifest["artifact"]["sha256"],
                }
                inproc = in_process_latency(model, plan.in_process_calls)
                levels = [(c, 0.0, "concurrency") for c in plan.concurrency]
                levels += [(plan.rate_users, r, "target_rate") for r in plan.rates]
                for users, rate, scenario in levels:
                    n = (
                        plan.requests
                        if not rate
                        else int(min(plan.requests, max(50, rate * plan.max_seconds)))
                    )
                    row = run_locust(
                        url, f"/v2/models/{name}/infer", bodies, users, n, rate, plan.max_seconds, work
                    )
                    row = {
                        **base,
                        "scenario": scenario,
                        **row,
                        "server_peak_rss_mb": peak_rss_mb(proc.pid),
                        "in_process": inproc,
                    }
                    records.append(row)
                    log(
                        f"{name} {scenario} users={users} rate={rate:g}: p50 {row['latency_ms_p50']:.2f} ms, "
                        f"p99 {row['latency_ms_p99']:.2f} ms, {row['throughput_rps'] or 0:.0f} req/s, "
                        f"{row['errors']} errors"
                    )
        finally:
            stop_server(proc)
    doc = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "note": "client (locust) and server share this machine's CPUs",
        },
        "plan": {**plan.__dict__, "concurrency": list(plan.concurrency), "rates": list(plan.rates)},
        "server_args": server_args,
        "records": records,
        "server_scenario": server_scenario(records, plan.p99_bound_ms),
    }
    atomic_write_text(output / "loadtest.json", json.dumps(doc, indent=1) + "\n")
    atomic_write_text(
        output / "loadtest.md", "# Serving under load\n\n" + table(records, plan.p99_bound_ms) + "\n"
    )
    plot(records, output / "loadtest.png", plan.p99_bound_ms)
    return doc


def server_scenario(records: list[dict[str, Any]], bound_ms: float) -> dict[str, Any]:
    """Per model, MLPerf server style: the highest target rate whose p99 stayed under ``bound_ms``
    with no errors and at least 95% of the rate achieved."""
    out: dict[str, Any] = {}
    for r in records:
        if r["scenario"] != "target_rate":
            continue
        ok = (
            r["latency_ms_p99"] <= bound_ms
            and r["errors"] == 0
            and (r["throughput_rps"] or 0) >= 0.95 * r["target_rate"]
        )
        best = out.setdefault(r["model_name"], {"p99_bound_ms": bound_ms, "max_rate_rps": None})
        if ok and (best["max_rate_rps"] is None or r["target_rate"] > best["max_rate_rps"]):
            best["max_rate_rps"] = r["target_rate"]
    return out


def table(records: list[dict[str, Any]], bound_ms: float) -> str:
    """The measured rows as a Markdown table."""
    lines = [
        "| model | format | load | requests | errors | p50 ms | p95 ms | p99 ms | req/s | "
        "in-process p50 ms | server peak RSS MiB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        load = (
            f"concurrency {r['users']}"
            if r["scenario"] == "concurrency"
            else f"{r['target_rate']:g} req/s ({r['users']} users)"
        )
        lines.append(
            f"| {r['model_name']} | {r['format']} | {load} | {r['requests']} | {r['errors']} | "
            f"{r['latency_ms_p50']:.2f} | {r['latency_ms_p95']:.2f} | {r['latency_ms_p99']:.2f} | "
            f"{r['throughput_rps'] or 0:.0f} | {r['in_process']['latency_ms_p50']:.3f} | "
            f"{r['server_peak_rss_mb'] or 0:.0f} |"
        )
    scen = server_scenario(records, bound_ms)
    if scen:
        lines += [
            "",
            f"Server scenario (p99 bound {bound_ms:g} ms, no errors, >= 95% of the rate achieved): "
            + "; ".join(f"{k}: {v['max_rate_rps'] or 'none'} req/s" for k, v in scen.items()),
        ]
    return "\n".join(lines)


def plot(records: list[dict[str, Any]], path: Path, bound_ms: float) -> None:
    """Latency percentiles vs achieved throughput, one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["model_name"] for r in records))
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        rows = sorted((r for r in records if r["model_name"] == name), key=lambda r: r["throughput_rps"] or 0)
        x = [r["throughput_rps"] or 0 for r in rows]
        for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^-")):
            ax.plot(x, [r[f"latency_ms_{q}"] for r in rows], style, label=q)
        ax.axhline(bound_ms, color="grey", lw=0.8, ls=":", label=f"p99 bound {bound_ms:g} ms")
        ax.set(title=name, xlabel="achieved throughput (req/s)", ylabel="latency (ms)", yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
