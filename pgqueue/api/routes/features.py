"""Routes for the queue features beyond the guide: cancel a job, wait for its result,
and a queue's rate limit and global concurrency."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pgqueue.admin.errors import ApiError
from pgqueue.admin.roles import Action
from pgqueue.api import inputs, views
from pgqueue.api.endpoint import Call, endpoint
from pgqueue.errors import JobNotFoundError

MAX_WAIT_SECONDS = 60
"""A request may hold its connection this long at most; longer waits loop client-side."""


def _target(call: Call) -> tuple[str, str]:
    return inputs.path_text(call.request, "queue"), inputs.job_id(call.request)


@endpoint(audit=Action.CANCEL_JOB)
async def cancel(call: Call) -> Any:
    """A waiting, delayed or active job ends in the state `cancelled` (409 for a finished
    one); a running job's worker stops it. The audit log and the job keep who cancelled.
    ---
    summary: Cancel a job
    parameters:
      - $ref: "#/components/parameters/Queue"
      - $ref: "#/components/parameters/JobId"
    responses:
      "200":
        description: "`data` is {id}."
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
      "409": {$ref: "#/components/responses/Error"}
    """
    queue, job_id = _target(call)
    return {"id": await call.manager.cancel_job(queue, job_id, by=call.principal.actor)}


@endpoint()
async def wait(call: Call) -> Any:
    """Long poll: answers as soon as the job is completed, failed or cancelled, or after
    `timeout` seconds with the job as it is then (`finished: false`).
    ---
    summary: Wait for a job to finish
    parameters:
      - $ref: "#/components/parameters/Queue"
      - $ref: "#/components/parameters/JobId"
      - name: timeout
        in: query
        description: Seconds to wait, 1 to 60.
        schema: {type: integer, minimum: 1, maximum: 60, default: 30}
    responses:
      "200":
        description: "`data` is {finished, job}."
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
    """
    queue, job_id = _target(call)
    timeout = inputs.query_int(call.request, "timeout", 30)
    if not 1 <= timeout <= MAX_WAIT_SECONDS:
        raise ApiError(400, f"timeout must be between 1 and {MAX_WAIT_SECONDS} seconds")
    try:
        job = await call.manager.wait_for_job(queue, job_id, timeout)
        finished = True
    except TimeoutError:
        found = await call.manager.get_job(queue, job_id)
        if found is None:
            raise JobNotFoundError(f"job {job_id} not found in queue {queue!r}") from None
        job, finished = found, False
    return {"finished": finished, "job": views.job(job)}


@endpoint()
async def limits(call: Call) -> Any:
    """
    ---
    summary: A queue's rate limit and global concurrency
    parameters:
      - $ref: "#/components/parameters/Queue"
    responses:
      "200":
        description: >-
          `data` is {queue, rateLimit: {max, duration} or null, globalConcurrency,
          recentStarts, active, heldBack}; heldBack counts the ready jobs a reached
          limit keeps waiting.
      "422": {$ref: "#/components/responses/Error"}
    """
    queue = inputs.path_text(call.request, "queue")
    found = (await call.manager.get_queue_limits(queue)).get(queue)
    if found is None:
        return {
            "queue": queue,
            "rateLimit": None,
            "globalConcurrency": None,
            "recentStarts": 0,
            "active": 0,
            "heldBack": 0,
        }
    return found.as_dict()


@endpoint(audit=Action.SET_RATE_LIMIT)
async def set_rate_limit(call: Call) -> Any:
    """At most `max` jobs of the queue start in any `duration` ms, across all workers.
    `max: null` removes the limit.
    ---
    summary: Set or remove a queue's rate limit
    parameters:
      - $ref: "#/components/parameters/Queue"
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [max]
            properties:
              max: {type: integer, minimum: 1, nullable: true}
              duration: {type: integer, minimum: 1, default: 1000, description: ms}
    responses:
      "200":
        description: "`data` is {queue, rateLimit}."
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    body = await inputs.json_object(call.request, call.context.settings.max_payload_bytes)
    inputs.only_keys(body, {"max", "duration"})
    if "max" not in body:
        raise ApiError(422, "max is required (null removes the limit)")
    queue = inputs.path_text(call.request, "queue")
    rate_max, duration = body["max"], body.get("duration", 1000)
    call.detail.update(max=rate_max, duration=duration)
    await call.manager.set_rate_limit(queue, rate_max, duration)
    limit = None if rate_max is None else {"max": rate_max, "duration": duration}
    return {"queue": queue, "rateLimit": limit}


@endpoint(audit=Action.SET_GLOBAL_CONCURRENCY)
async def set_global_concurrency(call: Call) -> Any:
    """At most `concurrency` jobs of the queue active at once across all workers;
    `null` removes the limit.
    ---
    summary: Set or remove a queue's global concurrency
    parameters:
      - $ref: "#/components/parameters/Queue"
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [concurrency]
            properties:
              concurrency: {type: integer, minimum: 1, nullable: true}
    responses:
      "200":
        description: "`data` is {queue, globalConcurrency}."
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    body = await inputs.json_object(call.request, call.context.settings.max_payload_bytes)
    inputs.only_keys(body, {"concurrency"})
    if "concurrency" not in body:
        raise ApiError(422, "concurrency is required (null removes the limit)")
    queue = inputs.path_text(call.request, "queue")
    call.detail["concurrency"] = body["concurrency"]
    await call.manager.set_global_concurrency(queue, body["concurrency"])
    return {"queue": queue, "globalConcurrency": body["concurrency"]}


ROUTES = [
    Route("/queues/{queue}/job/{id}/cancel", cancel, methods=["POST"]),
    Route("/queues/{queue}/job/{id}/wait", wait, methods=["GET"]),
    Route("/queues/{queue}/limits", limits, methods=["GET"]),
    Route("/queues/{queue}/rate-limit", set_rate_limit, methods=["PUT"]),
    Route("/queues/{queue}/global-concurrency", set_global_concurrency, methods=["PUT"]),
]
