"""The dashboard's actions: each is one manager call, recorded in the audit log, then
back to the page it came from with a message saying what happened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from pgqueue.admin.errors import problem_for
from pgqueue.admin.roles import SUCCESS, Action
from pgqueue.dashboard.web import View
from pgqueue.errors import InvalidJobError, PgQueueError


async def _do(
    view: View,
    fallback: str,
    action: str,
    call: Callable[[], Awaitable[str]],
    *,
    queue: str | None = None,
    job_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Response:
    """Runs `call`, whose result is the message for the user; a pgqueue error becomes an
    error message. Either way the attempt goes in the audit log."""
    try:
        message = await call()
    except PgQueueError as exc:
        outcome, message = problem_for(exc).code, str(exc)
        view.flash("error", message)
    else:
        outcome = SUCCESS
        view.flash("ok", message)
    await view.admin.audit.record(
        view.principal,
        action,
        outcome,
        queue=queue,
        job_id=job_id,
        detail={"via": "dashboard", "message": message, **(detail or {})},
    )
    return view.back(fallback)


def _queue(view: View) -> str:
    return str(view.request.path_params["queue"])


async def pause(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        await view.manager.pause_queue(name)
        return f"Paused {name}: workers take no new jobs from it."

    return await _do(view, view.url("queues", name), Action.PAUSE_QUEUE, call, queue=name)


async def resume(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        await view.manager.resume_queue(name)
        return f"Resumed {name}."

    return await _do(view, view.url("queues", name), Action.RESUME_QUEUE, call, queue=name)


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

    detail = {"state": state, "grace_seconds": grace}
    return await _do(
        view, view.url("queues", name), Action.CLEAN_QUEUE, call, queue=name, detail=detail
    )


async def retry_failed(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        count = await view.manager.retry_failed_jobs(name)
        return f"Retrying {count} failed jobs of {name}."

    return await _do(view, view.url("queues", name), Action.RETRY_FAILED, call, queue=name)


async def promote_delayed(view: View) -> Response:
    name = _queue(view)

    async def call() -> str:
        count = await view.manager.promote_delayed_jobs(name)
        return f"Promoted {count} delayed jobs of {name}."

    return await _do(view, view.url("queues", name), Action.PROMOTE_DELAYED, call, queue=name)


def _job(view: View) -> tuple[str, str]:
    return _queue(view), str(view.request.path_params["job_id"])


async def retry_job(view: View) -> Response:
    name, job_id = _job(view)

    async def call() -> str:
        await view.manager.retry_job(name, job_id)
        return f"Job {job_id} is waiting to run again."

    page = view.url("queues", name, "jobs", job_id)
    return await _do(view, page, Action.RETRY_JOB, call, queue=name, job_id=job_id)


async def promote_job(view: View) -> Response:
    name, job_id = _job(view)

    async def call() -> str:
        await view.manager.promote_job(name, job_id)
        return f"Job {job_id} runs now."

    page = view.url("queues", name, "jobs", job_id)
    return await _do(view, page, Action.PROMOTE_JOB, call, queue=name, job_id=job_id)


async def remove_job(view: View) -> Response:
    """A removed job has no page to go back to: its queue's page it is."""
    name, job_id = _job(view)
    removed = False

    async def call() -> str:
        nonlocal removed
        await view.manager.remove_job(name, job_id)
        removed = True
        return f"Removed job {job_id}."

    response = await _do(
        view,
        view.url("queues", name, "jobs", job_id),
        Action.REMOVE_JOB,
        call,
        queue=name,
        job_id=job_id,
    )
    return view.redirect(view.url("queues", name)) if removed else response


async def cancel_job(view: View) -> Response:
    name, job_id = _job(view)

    async def call() -> str:
        await view.manager.cancel_job(name, job_id, by=view.principal.actor)
        return f"Cancelled job {job_id}."

    page = view.url("queues", name, "jobs", job_id)
    return await _do(view, page, Action.CANCEL_JOB, call, queue=name, job_id=job_id)


def _optional_whole(view: View, field: str, what: str) -> int | None:
    """A number field of a form; left empty, it removes the limit."""
    raw = view.form.get(field, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidJobError(f"{what} must be a whole number, got {raw!r}")
    return int(raw)


async def set_rate_limit(view: View) -> Response:
    name = _queue(view)
    detail = {"max": view.form.get("max", ""), "duration": view.form.get("duration", "")}

    async def call() -> str:
        rate_max = _optional_whole(view, "max", "the number of jobs")
        duration = _optional_whole(view, "duration", "the window (ms)") or 1000
        await view.manager.set_rate_limit(name, rate_max, duration)
        if rate_max is None:
            return f"Removed the rate limit of {name}."
        return f"{name} starts at most {rate_max} jobs per {duration} ms."

    return await _do(
        view, view.url("queues", name), Action.SET_RATE_LIMIT, call, queue=name, detail=detail
    )


async def set_global_concurrency(view: View) -> Response:
    name = _queue(view)
    detail = {"concurrency": view.form.get("concurrency", "")}

    async def call() -> str:
        n = _optional_whole(view, "concurrency", "the global concurrency")
        await view.manager.set_global_concurrency(name, n)
        if n is None:
            return f"Removed the global concurrency of {name}."
        return f"At most {n} jobs of {name} run at once."

    return await _do(
        view,
        view.url("queues", name),
        Action.SET_GLOBAL_CONCURRENCY,
        call,
        queue=name,
        detail=detail,
    )


async def remove_schedule(view: View) -> Response:
    key = view.form.get("key", "")

    async def call() -> str:
        await view.manager.remove_repeating_job(key)
        return "Removed the schedule."

    return await _do(
        view, view.url("schedules"), Action.REMOVE_REPEATABLE, call, detail={"key": key}
    )
