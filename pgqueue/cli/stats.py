"""`pgqueue stats`: every queue's counts, for people or for scripts."""

from __future__ import annotations

import json

import click

from pgqueue.cli.common import database_url
from pgqueue.manager import SyncJobQueueManager
from pgqueue.types import STAT_FIELDS


@click.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stats_command(as_json: bool) -> None:
    """Show job counts by state for every queue."""
    with SyncJobQueueManager(database_url()) as manager:
        stats = manager.get_all_queue_stats()
        paused = manager.get_paused_queues()
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    header = f"{'queue':<16}" + "".join(f"{f:>11}" for f in STAT_FIELDS)
    click.echo(header)
    for queue, counts in stats.items():
        mark = " (paused)" if queue in paused else ""
        click.echo(f"{queue:<16}" + "".join(f"{counts[f]:>11}" for f in STAT_FIELDS) + mark)


COMMANDS = [stats_command]
