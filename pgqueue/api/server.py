"""Serving the app with uvicorn inside a process that owns its own signal handling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from pgqueue.errors import ConfigurationError


class _Server(uvicorn.Server):
    """Leaves SIGINT and SIGTERM to the caller, who sets `stop` instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: ASGIApp, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve `app` until `stop` is set, then finish in-flight requests and return."""
    server = _Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked())
    try:
        await server.serve()
    except SystemExit as exc:
        raise ConfigurationError(
            f"the API could not start on {host}:{port} (see the log above)"
        ) from exc
    finally:
        watcher.cancel()
