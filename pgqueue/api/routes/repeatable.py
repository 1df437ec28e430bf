"""Repeating jobs (schedules): list them, remove one by key."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pgqueue.admin.roles import Action
from pgqueue.api import inputs, views
from pgqueue.api.endpoint import Call, endpoint


@endpoint()
async def list_repeatable(call: Call) -> Any:
    """Times are ms since the epoch; `nextRun` is null once a schedule is done.
    ---
    summary: Repeating jobs
    responses:
      "200":
        description: >-
          `data` is a list of {key, queue, name, cron, tz, every, nextRun, lastRun,
          count, limit, startDate, endDate, data, opts}.
    """
    return [views.schedule(entry) for entry in await call.manager.get_repeating_jobs()]


@endpoint(audit=Action.REMOVE_REPEATABLE)
async def remove_repeatable(call: Call) -> Any:
    """No slot of the schedule fires after this returns.
    ---
    summary: Remove a repeating job
    parameters:
      - name: key
        in: path
        required: true
        schema: {type: string}
    responses:
      "200":
        description: "`data` is {key}."
      "404": {$ref: "#/components/responses/Error"}
    """
    key = inputs.path_text(call.request, "key")
    call.detail["key"] = key
    await call.manager.remove_repeating_job(key)
    return {"key": key}


ROUTES = [
    Route("/repeatable", list_repeatable, methods=["GET"]),
    Route("/repeatable/{key:path}", remove_repeatable, methods=["DELETE"]),
]
