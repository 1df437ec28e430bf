"""`pgqueue queues list|pause|resume|clean`."""

from __future__ import annotations

import click

from pgqueue.cli.output import echo_json, echo_table, json_option, manager, one_shot
from pgqueue.cli.params import DURATION
from pgqueue.manager.core import CLEANABLE_STATES
from pgqueue.types import STAT_FIELDS


@click.group("queues")
def queues_group() -> None:
    """List queues; pause, resume and clean one."""


@queues_group.command("list")
@json_option
@one_shot
def list_command(as_json: bool) -> None:
    """Every queue with its jobs by state, and whether it is paused."""
    with manager() as m:
        stats = m.get_all_queue_stats()
        paused = m.get_paused_queues()
    if as_json:
        echo_json([{"queue": q, "paused": q in paused, "counts": c} for q, c in stats.items()])
        return
    echo_table(
        ["QUEUE", *(f.upper() for f in STAT_FIELDS), "PAUSED"],
        [
            [q, *(counts[f] for f in STAT_FIELDS), "yes" if q in paused else "no"]
            for q, counts in stats.items()
        ],
    )


@queues_group.command("pause")
@click.argument("queue")
@one_shot
def pause_command(queue: str) -> None:
    """Stop workers everywhere from starting QUEUE's jobs; running ones finish."""
    with manager() as m:
        m.pause_queue(queue)
    click.echo(f"paused {queue}")


@queues_group.command("resume")
@click.argument("queue")
@one_shot
def resume_command(queue: str) -> None:
    """Let workers start QUEUE's jobs again."""
    with manager() as m:
        m.resume_queue(queue)
    click.echo(f"resumed {queue}")


@queues_group.command("clean")
@click.argument("queue")
@click.option(
    "--grace",
    "-g",
    type=DURATION,
    required=True,
    help="Only jobs older than this: 30s, 1h, 7d.",
)
@click.option(
    "--state",
    "-s",
    type=click.Choice(sorted(s.value for s in CLEANABLE_STATES)),
    default="completed",
    show_default=True,
    help="Which jobs to remove.",
)
@click.option("--limit", "-n", type=click.IntRange(min=1), help="Remove at most this many.")
@json_option
@one_shot
def clean_command(queue: str, grace: int, state: str, limit: int | None, as_json: bool) -> None:
    """Remove QUEUE's jobs in --state that are older than --grace."""
    with manager() as m:
        removed = m.clean_queue(queue, grace, state, limit)
    if as_json:
        echo_json({"queue": queue, "state": state, "removed": removed})
        return
    click.echo(f"removed {len(removed)} {state} jobs from {queue}")


COMMANDS = [queues_group]
