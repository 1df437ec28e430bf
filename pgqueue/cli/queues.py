"""`pgqueue queues list|pause|resume|clean|limits|rate-limit|concurrency`."""

from __future__ import annotations

import click

from pgqueue.cli.output import echo_json, echo_table, json_option, manager, one_shot
from pgqueue.cli.params import DURATION
from pgqueue.manager.core import CLEANABLE_STATES
from pgqueue.types import STAT_FIELDS


@click.group("queues")
def queues_group() -> None:
    """List queues; pause, resume and clean one; show and set its limits."""


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


@queues_group.command("limits")
@json_option
@one_shot
def limits_command(as_json: bool) -> None:
    """Queues with a rate limit or global concurrency, and how many jobs each holds back."""
    with manager() as m:
        found = m.get_queue_limits()
    if as_json:
        echo_json([limit.as_dict() for limit in found.values()])
        return
    echo_table(
        ["QUEUE", "RATE", "CONCURRENCY", "ACTIVE", "HELD BACK"],
        [
            [
                q,
                "-" if lim.rate_max is None else f"{lim.rate_max}/{lim.rate_duration_ms}ms",
                "-" if lim.concurrency is None else lim.concurrency,
                lim.active,
                lim.held_back,
            ]
            for q, lim in found.items()
        ],
    )


@queues_group.command("rate-limit")
@click.argument("queue")
@click.argument("max_jobs", metavar="MAX", type=click.IntRange(min=1), required=False)
@click.option("--per", type=DURATION, default="1s", show_default=True, help="The window.")
@click.option("--remove", is_flag=True, help="Remove QUEUE's rate limit.")
@one_shot
def rate_limit_command(queue: str, max_jobs: int | None, per: int, remove: bool) -> None:
    """Start at most MAX of QUEUE's jobs in any --per window, across every worker."""
    if (max_jobs is None) != remove:
        raise click.UsageError("give MAX or --remove (one of the two)")
    with manager() as m:
        m.set_rate_limit(queue, max_jobs, per)
    click.echo(
        f"removed the rate limit of {queue}"
        if max_jobs is None
        else f"{queue} starts at most {max_jobs} jobs per {per} ms"
    )


@queues_group.command("concurrency")
@click.argument("queue")
@click.argument("n", type=click.IntRange(min=1), required=False)
@click.option("--remove", is_flag=True, help="Remove QUEUE's global concurrency.")
@one_shot
def concurrency_command(queue: str, n: int | None, remove: bool) -> None:
    """Run at most N of QUEUE's jobs at once across every worker (global concurrency)."""
    if (n is None) != remove:
        raise click.UsageError("give N or --remove (one of the two)")
    with manager() as m:
        m.set_global_concurrency(queue, n)
    click.echo(
        f"removed the global concurrency of {queue}"
        if n is None
        else f"at most {n} jobs of {queue} run at once"
    )


COMMANDS = [queues_group]
