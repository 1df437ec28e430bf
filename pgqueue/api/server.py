"""Serving the app with uvicorn inside a process that owns its own signal handling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from pgqueue.errors import ConfigurationError


class _Server(uvicorn.Server):
    """Leaves SIGINT and SIGTERM to the caller, who sets `stop` instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Transport:
    """TLS and proxy settings handed to uvicorn as they are."""

    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    forwarded_allow_ips: str | None = None
    """Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's own default: 127.0.0.1)."""


async def serve(
    app: ASGIApp,
    host: str,
    port: int,
    stop: asyncio.Event,
    transport: Transport | None = None,
) -> None:
    """Serve `app` until `stop` is set, then finish in-flight requests and return."""
    options = transport or Transport()
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            lifespan="on",
            ssl_certfile=options.ssl_certfile,
            ssl_keyfile=options.ssl_keyfile,
            forwarded_allow_ips=options.forwarded_allow_ips,
        )
    )

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
