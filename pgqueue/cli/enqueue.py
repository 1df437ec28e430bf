"""`pgqueue enqueue QUEUE NAME --data JSON`: add a job by hand."""

from __future__ import annotations

from typing import Any

import click

from pgqueue.api import views
from pgqueue.cli.output import echo_json, json_option, manager, one_shot
from pgqueue.cli.params import DURATION, JSON_VALUE
from pgqueue.types import JobOptions


@click.command("enqueue")
@click.argument("queue")
@click.argument("name")
@click.option(
    "--data",
    "-d",
    type=JSON_VALUE,
    default="{}",
    show_default=True,
    help="The job's data as JSON; - reads it from standard input.",
)
@click.option("--delay", type=DURATION, help="Run no sooner than this from now: 10s, 5m, 1h.")
@click.option("--priority", "-p", type=int, help="Smaller runs first (1 critical … 4 low).")
@click.option("--attempts", "-a", type=int, help="How many times to try it.")
@click.option("--job-id", help="Your key for it: adding the same key again adds nothing.")
@click.option("--lifo", is_flag=True, help="Run it before the jobs waiting at its priority.")
@json_option
@one_shot
def enqueue_command(
    queue: str,
    name: str,
    data: Any,
    delay: int | None,
    priority: int | None,
    attempts: int | None,
    job_id: str | None,
    lifo: bool,
    as_json: bool,
) -> None:
    """Add a NAME job to QUEUE and print its id."""
    options: JobOptions = {}
    if delay is not None:
        options["delay"] = delay
    if priority is not None:
        options["priority"] = priority
    if attempts is not None:
        options["attempts"] = attempts
    if job_id is not None:
        options["job_id"] = job_id
    if lifo:
        options["lifo"] = True
    with manager() as m:
        job = m.add_job(queue, name, data, **options)
    if as_json:
        echo_json(views.job(job))
        return
    click.echo(f"added job {job.id} to {queue} ({job.state.value})")


COMMANDS = [enqueue_command]
