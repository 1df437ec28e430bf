"""`pgqueue scheduler`."""

from __future__ import annotations

import asyncio

import click

from pgqueue.cli.common import import_option, load_processors, load_settings, prepare_database
from pgqueue.cli.worker import run_services
from pgqueue.scheduler import Scheduler
from pgqueue.scheduler.runner import DEFAULT_MISFIRE_GRACE


@click.command("scheduler")
@import_option
@click.option(
    "--misfire-grace",
    type=click.IntRange(min=1),
    default=DEFAULT_MISFIRE_GRACE,
    show_default=True,
    metavar="SECONDS",
    help="Fire a slot missed while no scheduler ran if it is at most this old.",
)
def scheduler_command(imports: tuple[str, ...], misfire_grace: int) -> None:
    """Fire repeating jobs. Run one per host or more: each slot becomes one job."""
    settings = load_settings()
    load_processors(imports, settings)

    async def fire(stop: asyncio.Event) -> None:
        url = await prepare_database(settings, stop)
        if url is not None:
            await Scheduler(url, settings, misfire_grace=misfire_grace).run(stop)

    run_services([fire], lambda: None)


COMMANDS = [scheduler_command]
