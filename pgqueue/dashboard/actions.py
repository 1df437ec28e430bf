"""The dashboard's actions: each is one manager call, then back to the page it came from
with a message saying what happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from pgqueue.dashboard.web import View
from pgqueue.errors import InvalidJobError, PgQueueError


async def _do(view: View, fallback: str, call: Callable[[], Awaitable[str]]) -> Response:
    try:
        view.flash("ok", await call())
    except PgQueueError as exc:
        view.flash("error", str(exc))
    return view.back(fallback)


def _queue(view: View) -> str:
    return str(view.request.path_params["queue"])


async def pause(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        await view.manager.pause_queue(name)
        return f"Paused {name}: workers take no new jobs from it."

    return await _do(view, view.url("queues", name), call)


async def resume(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        await view.manager.resume_queue(name)
        return f"Resumed {name}."

    return await _do(view, view.url("queues", name), call)


async def clean(view: View) -> Response:
    name = _queue(view)
    state = view.form.get("state", "")
    grace = view.form.get("grace", "").strip()

    async def call() -> str:
        if not grace.isdigit():
            raise InvalidJobError(
                f"the grace period must be a whole number of seconds, got {grace!r}"
            )
        removed = await view.manager.clean_queue(name, int(grace) * 1000, state)
        return f"Removed {len(removed)} {state} jobs older than {grace} s from {name}."

    return await _do(view, view.url("queues", name), call)


async def retry_failed(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        count = await view.manager.retry_failed_jobs(name)
        return f"Retrying {count} failed jobs of {name}."

    return await _do(view, view.url("queues", name), call)


async def promote_delayed(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        count = await view.manager.promote_delayed_jobs(name)
        return f"Promoted {count} delayed jobs of {name}."

    return await _do(view, view.url("queues", name), call)


def _job(view: View) -> tuple[str, str]:
    return _queue(view), str(view.request.path_params["job_id"])


async def retry_job(view: View) -> Response:
    name, job_id = _job(view)

    async def call() -> str:
        await view.manager.retry_job(name, job_id)
        return f"Job {job_id} is waiting to run again."

    return await _do(view, view.url("queues", name, "jobs", job_id), call)


async def promote_job(view: View) -> Response:
    name, job_id = _job(view)

    async def call() -> str:
        await view.manager.promote_job(name, job_id)
        return f"Job {job_id} runs now."

    return await _do(view, view.url("queues", name, "jobs", job_id), call)


async def remove_job(view: View) -> Response:
    name, job_id = _job(view)
    try:
        await view.manager.remove_job(name, job_id)
    except PgQueueError as exc:
        view.flash("error", str(exc))
        return view.back(view.url("queues", name, "jobs", job_id))
    view.flash("ok", f"Removed job {job_id}.")
    return view.redirect(view.url("queues", name))


async def remove_schedule(view: View) -> Response:
    key = view.form.get("key", "")

    async def call() -> str:
        await view.manager.remove_repeating_job(key)
        return "Removed the schedule."

    return await _do(view, view.url("schedules"), call)
