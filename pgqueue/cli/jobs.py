"""`pgqueue jobs list|show|retry|remove|promote|cancel|wait`: the jobs of one queue, by
hand."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from pgqueue.api import views
from pgqueue.cli.output import echo_json, echo_table, json_option, manager, one_shot, when
from pgqueue.cli.params import DURATION
from pgqueue.errors import PgQueueError
from pgqueue.manager import SyncJobQueueManager
from pgqueue.models import Job, JobState

LISTED_STATES = [s.value for s in JobState]
MAX_LIST = 1000


@click.group("jobs")
def jobs_group() -> None:
    """List, inspect, retry, remove, promote, cancel and wait for jobs."""


def _listed(m: SyncJobQueueManager, queue: str, state: str | None, limit: int) -> list[Job]:
    if state is not None:
        return m.get_jobs(queue, state, 0, limit - 1)
    found = [job for s in LISTED_STATES for job in m.get_jobs(queue, s, 0, limit - 1)]
    found.sort(key=lambda job: (job.created_at is not None, job.created_at), reverse=True)
    return found[:limit]


def _short(text: str | None, width: int = 60) -> str:
    line = (text or "").splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


@jobs_group.command("list")
@click.argument("queue")
@click.option("--state", "-s", type=click.Choice(LISTED_STATES), help="Only jobs in this state.")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, MAX_LIST),
    default=20,
    show_default=True,
    help="Show at most this many, newest first.",
)
@json_option
@one_shot
def list_command(queue: str, state: str | None, limit: int, as_json: bool) -> None:
    """Show the newest jobs of QUEUE (every state unless --state)."""
    with manager() as m:
        found = _listed(m, queue, state, limit)
    if as_json:
        echo_json([views.job(job) for job in found])
        return
    echo_table(
        ["ID", "NAME", "STATE", "ATTEMPTS", "PRIORITY", "CREATED", "REASON"],
        [
            [
                job.id,
                job.name,
                job.state.value,
                f"{job.attempts_made}/{job.max_attempts}",
                job.priority,
                when(job.created_at),
                _short(job.failed_reason),
            ]
            for job in found
        ],
    )


@jobs_group.command("show")
@click.argument("queue")
@click.argument("job_id", metavar="ID")
@json_option
@one_shot
def show_command(queue: str, job_id: str, as_json: bool) -> None:
    """Show one job: data, options, attempts, failure and stack, progress and logs."""
    with manager() as m:
        job = m.get_job(queue, job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id!r} in queue {queue!r}")
        logs = m.get_job_logs(queue, job.id)
        parent = m.get_job_parent(queue, job.id)
        children = m.get_job_children(queue, job.id)
    if as_json:
        echo_json(views.job_detail(job, logs))
        return
    fields: list[tuple[str, object]] = [
        ("id", job.id),
        ("queue", job.queue),
        ("name", job.name),
        ("state", job.state.value),
        ("key", job.key or "-"),
        ("priority", job.priority),
        ("attempts", f"{job.attempts_made} of {job.max_attempts}"),
        ("progress", json.dumps(job.progress)),
        ("created", when(job.created_at)),
        ("run at", when(job.run_at)),
        ("started", when(job.processed_at)),
        ("finished", when(job.finished_at)),
        *([("cancelled", f"by {job.cancelled_by}")] if job.cancelled_by else []),
        *([("parent", f"{parent.queue} {parent.id} ({parent.state.value})")] if parent else []),
        *(
            [("children", ", ".join(f"{c.queue} {c.id} ({c.state.value})" for c in children))]
            if children
            else []
        ),
        ("data", json.dumps(job.data, ensure_ascii=False)),
        ("options", json.dumps(job.opts, ensure_ascii=False, default=str)),
    ]
    if job.return_value is not None:
        fields.append(("result", json.dumps(job.return_value, ensure_ascii=False)))
    for label, value in fields:
        click.echo(f"{label:<10}{value}")
    if job.failed_reason:
        click.echo(f"{'failed':<10}{job.failed_reason}")
        for trace in job.stacktrace:
            click.echo("  " + trace.rstrip().replace("\n", "\n  "))
    click.echo(f"logs      {len(logs)}")
    for line in logs:
        click.echo(f"  {when(line['created_at'])}  {line['message']}")


def _each(
    queue: str, job_ids: tuple[str, ...], action: Callable[[str, str], str], verb: str
) -> None:
    """Act on every id, report each, and exit 1 if any could not be done."""
    errors = 0
    for job_id in job_ids:
        try:
            done = action(queue, job_id)
        except PgQueueError as exc:
            errors += 1
            click.echo(f"Error: job {job_id}: {' '.join(str(exc).split())}", err=True)
            continue
        click.echo(f"{verb} job {done}")
    if errors:
        raise SystemExit(1)


@jobs_group.command("retry")
@click.argument("queue")
@click.argument("job_ids", metavar="[ID]...", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed job of QUEUE.")
@one_shot
def retry_command(queue: str, job_ids: tuple[str, ...], all_failed: bool) -> None:
    """Put failed jobs back in line with fresh attempts."""
    if bool(job_ids) == all_failed:
        raise click.UsageError("give job ids or --all-failed (one of the two)")
    with manager() as m:
        if all_failed:
            click.echo(f"retried {m.retry_failed_jobs(queue)} failed jobs in {queue}")
            return
        _each(queue, job_ids, m.retry_job, "retried")


@jobs_group.command("remove")
@click.argument("queue")
@click.argument("job_ids", metavar="ID...", nargs=-1, required=True)
@one_shot
def remove_command(queue: str, job_ids: tuple[str, ...]) -> None:
    """Delete jobs that are not running."""
    with manager() as m:
        _each(queue, job_ids, m.remove_job, "removed")


@jobs_group.command("promote")
@click.argument("queue")
@click.argument("job_ids", metavar="[ID]...", nargs=-1)
@click.option("--all-delayed", is_flag=True, help="Promote every delayed job of QUEUE.")
@one_shot
def promote_command(queue: str, job_ids: tuple[str, ...], all_delayed: bool) -> None:
    """Make delayed jobs ready now."""
    if bool(job_ids) == all_delayed:
        raise click.UsageError("give job ids or --all-delayed (one of the two)")
    with manager() as m:
        if all_delayed:
            click.echo(f"promoted {m.promote_delayed_jobs(queue)} delayed jobs in {queue}")
            return
        _each(queue, job_ids, m.promote_job, "promoted")


@jobs_group.command("cancel")
@click.argument("queue")
@click.argument("job_ids", metavar="ID...", nargs=-1, required=True)
@click.option("--by", help="Who cancels, as the job records it (default: user@host).")
@one_shot
def cancel_command(queue: str, job_ids: tuple[str, ...], by: str | None) -> None:
    """End waiting, delayed or running jobs in the state cancelled; never retried."""
    with manager() as m:
        _each(queue, job_ids, lambda q, j: m.cancel_job(q, j, by=by), "cancelled")


@jobs_group.command("wait")
@click.argument("queue")
@click.argument("job_id", metavar="ID")
@click.option(
    "--timeout", "-t", type=DURATION, default="30s", show_default=True, help="Give up after."
)
@json_option
@one_shot
def wait_command(queue: str, job_id: str, timeout: int, as_json: bool) -> None:
    """Wait until a job is completed, failed or cancelled; print its outcome. Exits 1
    unless it completed (or after the timeout, with one line saying so)."""
    with manager() as m:
        try:
            job = m.wait_for_job(queue, job_id, timeout / 1000)
        except TimeoutError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(views.job(job))
    elif job.state is JobState.COMPLETED:
        click.echo(f"completed {json.dumps(job.return_value, ensure_ascii=False)}")
    elif job.state is JobState.FAILED:
        click.echo(f"failed {job.failed_reason}")
    else:
        click.echo(f"cancelled by {job.cancelled_by}")
    if job.state is not JobState.COMPLETED:
        raise SystemExit(1)


COMMANDS = [jobs_group]
