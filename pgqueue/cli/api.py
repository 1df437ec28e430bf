"""`pgqueue api`: the admin REST API on its own."""

from __future__ import annotations

import asyncio

import click

from pgqueue.api import create_app, serve
from pgqueue.cli.common import load_settings, migrated_database_url
from pgqueue.cli.worker import run_services
from pgqueue.errors import ConfigurationError


@click.command("api")
@click.option("--host", help="Address to listen on (default PGQUEUE_API_HOST, else 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default PGQUEUE_API_PORT, else 8000).",
)
def api_command(host: str | None, port: int | None) -> None:
    """Serve the admin REST API, health, readiness and metrics."""
    settings = load_settings()
    migrated_database_url()
    app = create_app(settings=settings)

    async def run(stop: asyncio.Event) -> None:
        try:
            await serve(
                app, host or settings.api_host, settings.api_port if port is None else port, stop
            )
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from exc

    run_services([run], lambda: None)


COMMANDS = [api_command]
