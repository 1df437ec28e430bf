"""`pgqueue schedules list|add|remove`: repeating jobs."""

from __future__ import annotations

from typing import Any

import click

from pgqueue.api import views
from pgqueue.cli.output import echo_json, echo_table, json_option, manager, one_shot, when
from pgqueue.cli.params import DURATION, JSON_VALUE


@click.group("schedules")
def schedules_group() -> None:
    """List, add and remove repeating jobs (`pgqueue scheduler` fires them)."""


@schedules_group.command("list")
@json_option
@one_shot
def list_command(as_json: bool) -> None:
    """Every schedule with its timing and next run."""
    with manager() as m:
        found = m.get_repeating_jobs()
    if as_json:
        echo_json([views.schedule(entry) for entry in found])
        return
    echo_table(
        ["KEY", "QUEUE", "NAME", "REPEATS", "TZ", "NEXT RUN", "RUNS"],
        [
            [
                entry["key"],
                entry["queue"],
                entry["name"],
                entry["cron"] or f"every {entry['every']} ms",
                entry["tz"],
                when(entry["next_run"]),
                entry["count"],
            ]
            for entry in found
        ],
    )


@schedules_group.command("add")
@click.argument("queue")
@click.argument("name")
@click.option("--cron", help='Five fields, or six with seconds first: "0 2 * * *".')
@click.option("--every", type=DURATION, help="Or a fixed interval: 30s, 5m, 1h.")
@click.option("--tz", default="UTC", show_default=True, help="Time zone the cron is read in.")
@click.option(
    "--data",
    "-d",
    type=JSON_VALUE,
    default="{}",
    show_default=True,
    help="Each job's data as JSON; - reads it from standard input.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many runs.")
@click.option("--key", help="Your name for the schedule (default: derived from the rest).")
@one_shot
def add_command(
    queue: str,
    name: str,
    cron: str | None,
    every: int | None,
    tz: str,
    data: Any,
    limit: int | None,
    key: str | None,
) -> None:
    """Add or update a repeating NAME job in QUEUE; prints its key."""
    if (cron is None) == (every is None):
        raise click.UsageError("give --cron or --every (one of the two)")
    with manager() as m:
        found = m.add_repeating_job(
            queue, name, data, cron, tz=tz, every=every, limit=limit, key=key
        )
    click.echo(found)


@schedules_group.command("remove")
@click.argument("key")
@one_shot
def remove_command(key: str) -> None:
    """Delete the schedule KEY; no run fires after this."""
    with manager() as m:
        m.remove_repeating_job(key)
    click.echo(f"removed schedule {key}")


COMMANDS = [schedules_group]
