"""The v2 REST app (FastAPI, run by uvicorn): health, metadata, infer, and a FHIR extension.
Every client error is a 4xx ``{"error": one line}``; nothing a client sends reaches a traceback
(an unexpected server fault is logged here and answered 500 without details). Imported only to
serve (FastAPI at module level: its routes' annotations must resolve)."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from benchmarks.serve import MAX_BATCH, MAX_BODY_BYTES
from benchmarks.serve.models import ServedModel
from benchmarks.serve.protocol import RequestError, model_input, parse_body, requested_outputs

log = logging.getLogger("oncobench.serve")
DRAIN_FACTOR = 8  # an oversized body is read (and dropped) up to this many times the limit


def create_app(
    models: dict[str, ServedModel], max_body: int = MAX_BODY_BYTES, max_batch: int = MAX_BATCH
) -> Any:
    """The app serving ``models`` (already loaded: ready from the first request)."""
    app = FastAPI(title="oncobench v2 inference server", docs_url=None, redoc_url=None, openapi_url=None)
    state = {"requests": 0, "errors_4xx": 0, "errors_5xx": 0, "started": time.time()}

    def error(status: int, message: str) -> JSONResponse:
        state["errors_4xx" if status < 500 else "errors_5xx"] += 1
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        msg = {
            404: f"no such endpoint {request.url.path[:80]}; see /v2 and /v2/models/{{name}}",
            405: f"method {request.method} not allowed on {request.url.path[:80]}",
        }.get(exc.status_code, str(exc.detail))
        return error(exc.status_code, msg)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = (exc.errors() or [{}])[0]
        where = ".".join(str(p) for p in first.get("loc", ()))[:60]
        return error(
            400, f"invalid request: {where or 'parameters'} {str(first.get('msg', ''))[:80]}".strip()
        )

    @app.exception_handler(Exception)
    async def fault(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        log.exception("server fault on %s", request.url.path)
        return error(500, "internal server error (logged on the server)")

    def model_of(name: str) -> ServedModel:
        if name not in models:
            raise RequestError(404, f"unknown model {name[:60]!r}; served: {', '.join(models)}")
        return models[name]

    def version_ok(model: ServedModel, version: str | None) -> None:
        if version is not None and version != model.version:
            raise RequestError(404, f"model {model.name} has version {model.version}, not {version[:20]!r}")

    async def body_of(request: Request) -> bytes:
        """The body, at most ``max_body`` bytes. A larger one is read on and discarded (up to
        DRAIN_FACTOR x the limit) before the 413, so that the client reads the answer instead of
        a connection reset; beyond that the connection is dropped."""
        length = request.headers.get("content-length")
        if length is not None and not length.isdigit():
            raise RequestError(400, f"Content-Length {length[:20]!r} is not a number")
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total <= max_body:
                chunks.append(chunk)
            elif total > DRAIN_FACTOR * max_body:
                break
        if total > max_body:
            size = f"{int(length):,} bytes" if length else "more than the limit"
            raise RequestError(
                413,
                f"request body of {size} exceeds the {max_body:,}-byte limit; send fewer rows per request",
            )
        return b"".join(chunks)

    def infer(
        model: ServedModel, body: bytes, ctype: str | None
    ) -> tuple[dict[str, Any], np.ndarray, list[str]]:
        doc = parse_body(body, ctype)
        outputs = requested_outputs(doc)
        x, refs = model_input(doc, model, max_batch)
        probs = model.predict(x)
        bad = ~np.isfinite(probs).all(axis=1)
        if bad.any():  # e.g. a NaN the artifact's graph did not impute: the client's input, not a fault
            raise RequestError(
                422,
                f"row(s) {', '.join(map(str, np.flatnonzero(bad)[:5]))} gave non-finite scores; "
                "send finite values (this artifact does not impute NaN)",
            )
        classes = model.class_names
        out: list[dict[str, Any]] = []
        if "probabilities" in outputs:
            out.append(
                {
                    "name": "probabilities",
                    "datatype": "FP32",
                    "shape": list(probs.shape),
                    "data": [float(v) for v in probs.ravel()],
                }
            )
        if "predicted_class" in outputs:
            out.append(
                {
                    "name": "predicted_class",
                    "datatype": "BYTES",
                    "shape": [len(probs)],
                    "data": [classes[int(k)] for k in probs.argmax(axis=1)],
                }
            )
        resp = {"model_name": model.name, "model_version": model.version, "outputs": out}
        if "id" in doc:
            resp["id"] = str(doc["id"])[:64]
        return resp, probs, refs

    async def handle(request: Request, name: str, version: str | None, fhir: bool) -> Response:
        state["requests"] += 1
        try:
            model = model_of(name)
            version_ok(model, version)
            body = await body_of(request)
            resp, probs, refs = await run_in_threadpool(
                infer, model, body, request.headers.get("content-type")
            )
            if not fhir:
                return JSONResponse(resp)
            from benchmarks.serve.fhir import diagnostic_report

            report = await run_in_threadpool(diagnostic_report, model.manifest, probs, refs)
            return JSONResponse(report, media_type="application/fhir+json")
        except RequestError as exc:
            return error(exc.status, exc.message)

    @app.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/v2")
    async def server_metadata() -> dict[str, Any]:
        from benchmarks import __version__

        return {
            "name": "oncobench",
            "version": __version__,
            "extensions": ["fhir"],
            "models": sorted(models),
            "requests": state["requests"],
            "errors_4xx": state["errors_4xx"],
            "errors_5xx": state["errors_5xx"],
        }

    async def guarded(fn: Any, *a: Any) -> Any:
        try:
            return fn(*a)
        except RequestError as exc:
            return error(exc.status, exc.message)

    @app.get("/v2/models/{name}")
    async def metadata(name: str) -> Any:
        return await guarded(lambda n: model_of(n).metadata(), name)

    @app.get("/v2/models/{name}/versions/{version}")
    async def metadata_v(name: str, version: str) -> Any:
        def md(n: str, v: str) -> dict[str, Any]:
            m = model_of(n)
            version_ok(m, v)
            return m.metadata()

        return await guarded(md, name, version)

    @app.get("/v2/models/{name}/ready")
    async def model_ready(name: str) -> Any:
        return await guarded(lambda n: {"name": model_of(n).name, "ready": True}, name)

    @app.get("/v2/models/{name}/versions/{version}/ready")
    async def model_ready_v(name: str, version: str) -> Any:
        def rd(n: str, v: str) -> dict[str, Any]:
            version_ok(model_of(n), v)
            return {"name": n, "ready": True}

        return await guarded(rd, name, version)

    @app.post("/v2/models/{name}/infer")
    async def infer_route(name: str, request: Request) -> Response:
        return await handle(request, name, None, fhir=False)

    @app.post("/v2/models/{name}/versions/{version}/infer")
    async def infer_route_v(name: str, version: str, request: Request) -> Response:
        return await handle(request, name, version, fhir=False)

    @app.post("/v2/models/{name}/fhir")
    async def fhir_route(name: str, request: Request) -> Response:
        return await handle(request, name, None, fhir=True)

    return app


def serve_forever(
    models: dict[str, ServedModel],
    host: str,
    port: int,
    max_body: int = MAX_BODY_BYTES,
    max_batch: int = MAX_BATCH,
    log_level: str = "warning",
) -> None:
    """Run uvicorn on ``host:port`` until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    app = create_app(models, max_body, max_batch)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        h11_max_incomplete_event_size=64 * 1024,
        timeout_keep_alive=30,
    )
