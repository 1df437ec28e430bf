"""`pgqueue api`: the admin REST API on its own."""

from __future__ import annotations

import asyncio

import click

from pgqueue.api import Transport, serve
from pgqueue.asgi import create_app
from pgqueue.cli.common import load_settings, prepare_database
from pgqueue.cli.worker import run_services, transport_options
from pgqueue.errors import ConfigurationError


@click.command("api")
@click.option("--host", help="Address to listen on (default PGQUEUE_API_HOST, else 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default PGQUEUE_API_PORT, else 8000).",
)
@transport_options
def api_command(host: str | None, port: int | None, transport: Transport) -> None:
    """Serve the admin REST API, the dashboard, health, readiness and metrics."""
    settings = load_settings()
    try:
        app = create_app(settings=settings)  # refuses unsafe settings before anything starts
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc

    async def database(stop: asyncio.Event) -> None:
        # Served meanwhile: /healthz says 200, /readyz 503 until this is done.
        if await prepare_database(settings, stop) is not None:
            await stop.wait()

    async def run(stop: asyncio.Event) -> None:
        try:
            await serve(
                app,
                host or settings.api_host,
                settings.api_port if port is None else port,
                stop,
                transport,
            )
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from exc

    run_services([database, run], lambda: None)


COMMANDS = [api_command]
