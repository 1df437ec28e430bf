"""Probes and metrics for the platform around the API; none of them needs a token."""

from __future__ import annotations

import asyncio
import hmac
import time
from functools import cache

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pgqueue.api.context import context
from pgqueue.api.metrics import read_snapshot
from pgqueue.manager.admin import AdminService

READY_TIMEOUT_SECONDS = 5.0
METRICS_CACHE_SECONDS = 5.0
"""A scrape reads the database at most this often, however often it is asked."""


@cache
def head_revision() -> str | None:
    return AdminService.head_revision()


async def healthz(request: Request) -> Response:
    """The process is up and serving; it says nothing about the database.
    ---
    summary: Liveness
    security: []
    responses:
      "200":
        description: '{"status": "ok"}'
    """
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready means the database answers and pgqueue's schema is at the latest revision.
    ---
    summary: Readiness
    security: []
    responses:
      "200":
        description: '{"status": "ready", "revision": …}'
      "503":
        description: '{"status": "unavailable", "reason": …}'
    """
    service = context(request).admin.service
    try:
        current = await asyncio.wait_for(service.schema_revision(), READY_TIMEOUT_SECONDS)
    except Exception as exc:
        reason = (
            "the database did not answer in time"
            if isinstance(exc, TimeoutError)
            else (f"the database is unreachable: {type(exc).__name__}")
        )
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    head = head_revision()
    if current != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": f"schema at revision {current}, expected {head}: run pgqueue migrate",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": current})


async def metrics(request: Request) -> Response:
    """Prometheus text format; docs/api.md says what each metric means. Read from the
    database at most every few seconds; behind `PGQUEUE_METRICS_TOKEN` when that is set.
    ---
    summary: Prometheus metrics
    security: []
    responses:
      "200":
        description: Prometheus text exposition format.
      "401":
        description: PGQUEUE_METRICS_TOKEN is set and the request did not carry it.
      "503":
        description: The database did not answer.
    """
    ctx = context(request)
    expected = ctx.settings.metrics_token
    if expected is not None:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode()):
            return Response(
                "a bearer token is required\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    cache = ctx.metrics.cache
    if cache is None or cache[0] <= time.monotonic():
        async with ctx.metrics.lock:
            cache = ctx.metrics.cache
            if cache is None or cache[0] <= time.monotonic():
                snapshot = await read_snapshot(ctx.manager, ctx.admin.service)
                cache = (time.monotonic() + METRICS_CACHE_SECONDS, ctx.metrics.render(snapshot))
                ctx.metrics.cache = cache
    return Response(cache[1], media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
