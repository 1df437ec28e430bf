"""The dashboard's pages: each reads through the manager and renders one template."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.responses import Response

from pgqueue.dashboard import charts
from pgqueue.dashboard.health import health_warnings
from pgqueue.dashboard.web import View
from pgqueue.errors import InvalidJobError
from pgqueue.manager.admin import IDLE, QueueActivity
from pgqueue.models import JobState
from pgqueue.types import QueueStats

STATES = [s.value for s in JobState]
CHART_MINUTES = 24 * 60
CLEANABLE = ["completed", "failed", "waiting", "delayed", "paused", "cancelled"]


@dataclass(frozen=True)
class QueueRow:
    name: str
    counts: QueueStats
    paused: bool
    activity: QueueActivity


async def overview(view: View) -> Response:
    manager = view.manager
    stats, paused, activity, minutes = await asyncio.gather(
        manager.get_all_queue_stats(),
        manager.get_paused_queues(),
        manager.get_queue_activity(),
        manager.get_minute_metrics(None, CHART_MINUTES),
    )
    rows = [
        QueueRow(name, counts, name in paused, activity.get(name, IDLE))
        for name, counts in stats.items()
    ]
    settings = view.settings
    warnings = health_warnings(stats, settings.max_failed, settings.max_waiting)
    return view.render(
        "overview.html",
        queues=rows,
        warnings=warnings,
        states=STATES,
        charts=charts.build(minutes),
    )


def _page_number(view: View) -> int:
    raw = view.param("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


async def queue(view: View) -> Response:
    name = view.request.path_params["queue"]
    state = view.param("state", "waiting")
    search = view.param("q").strip()
    if state not in STATES:
        return bad_request(view, f"state must be one of {', '.join(STATES)}")
    number = _page_number(view)
    size = view.settings.page_size
    start = (number - 1) * size
    manager = view.manager
    try:
        if search:
            listing = manager.search_jobs(name, search, start, start + size)
        else:
            listing = manager.get_jobs(name, state, start, start + size)
        counts, paused, jobs, limits, minutes = await asyncio.gather(
            manager.get_queue_stats(name),
            manager.get_paused_queues(),
            listing,
            manager.get_queue_limits(name),
            manager.get_minute_metrics(name, CHART_MINUTES),
        )
    except InvalidJobError as exc:
        return bad_request(view, str(exc))
    return view.render(
        "queue.html",
        queue=name,
        counts=counts,
        paused=name in paused,
        state=state,
        search=search,
        jobs=jobs[:size],
        page=number,
        has_next=len(jobs) > size,
        states=STATES,
        cleanable=CLEANABLE,
        limits=limits.get(name),
        charts=charts.build(minutes),
    )


async def job(view: View) -> Response:
    queue_name = view.request.path_params["queue"]
    job_id = view.request.path_params["job_id"]
    manager = view.manager
    try:
        found = await manager.get_job(queue_name, job_id)
    except InvalidJobError as exc:
        return bad_request(view, str(exc))
    if found is None:
        message = f"No job {job_id} in queue {queue_name}."
        return view.render("error.html", status=404, title="Job not found", message=message)
    logs, parent, children = await asyncio.gather(
        manager.get_job_logs(queue_name, found.id),
        manager.get_job_parent(queue_name, found.id),
        manager.get_job_children(queue_name, found.id),
    )
    return view.render("job.html", job=found, logs=logs, parent=parent, children=children)


async def schedules(view: View) -> Response:
    return view.render("schedules.html", schedules=await view.manager.get_repeating_jobs())


async def workers(view: View) -> Response:
    return view.render("workers.html", workers=await view.manager.get_workers())


def bad_request(view: View, message: str) -> Response:
    return view.render("error.html", status=400, title="Bad request", message=message)


async def tokens(view: View) -> Response:
    """Who holds which role and scope: the same list as `pgqueue token list`."""
    return view.render("tokens.html", tokens=await view.admin.service.list_tokens())


async def audit(view: View) -> Response:
    number = _page_number(view)
    size = view.settings.page_size
    entries = await view.admin.audit.read((number - 1) * size, size + 1)
    return view.render(
        "audit.html", entries=entries[:size], page=number, has_next=len(entries) > size
    )
