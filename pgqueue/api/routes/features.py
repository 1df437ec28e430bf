"""Routes for the queue features beyond the guide: cancel a job, wait for its result,
a queue's rate limit and global concurrency, and flows."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pgqueue.admin.errors import ApiError
from pgqueue.admin.roles import ADMIN, SERVICE, Action
from pgqueue.api import inputs, views
from pgqueue.api.endpoint import Call, endpoint
from pgqueue.api.routes.queues import job_options, may_add
from pgqueue.errors import JobNotFoundError
from pgqueue.models import Job

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
              max: {type: integer, minimum: 1, maximum: 2147483647, nullable: true}
              duration:
                type: integer
                minimum: 1
                maximum: 2147483647
                default: 1000
                description: ms
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
              concurrency: {type: integer, minimum: 1, maximum: 2147483647, nullable: true}
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


FLOW_OPTIONS = ("failParentOnFailure", "fail_parent_on_failure")


def _flow_input(call: Call, node: object, where: str, depth: int = 0) -> dict[str, Any]:
    """A node as `add_flow` takes it: options as for adding a job, each queue checked
    against the caller's scope."""
    if depth > 100:
        raise ApiError(422, "a flow is at most 100 levels deep")
    if not isinstance(node, dict):
        raise ApiError(422, f"{where} must be a JSON object")
    inputs.only_keys(node, {"queue", "name", "data", "opts", "children"})
    queue = node.get("queue")
    if not isinstance(queue, str):
        raise ApiError(422, f"{where}.queue must be a string")
    may_add(call, queue, node.get("data"))
    raw_opts = node.get("opts")
    extra: dict[str, Any] = {}
    if isinstance(raw_opts, dict):
        raw_opts = dict(raw_opts)
        if all(name in raw_opts for name in FLOW_OPTIONS):
            raise ApiError(422, f"{where}.opts: give failParentOnFailure once, in one spelling")
        for name in FLOW_OPTIONS:
            if name in raw_opts:
                extra["fail_parent_on_failure"] = raw_opts.pop(name)
    children = node.get("children")
    if children is None:
        children = []
    if not isinstance(children, list):
        raise ApiError(422, f"{where}.children must be a list")
    return {
        "queue": queue,
        "name": node.get("name"),
        "data": node.get("data"),
        "opts": {**job_options(raw_opts), **extra},
        "children": [
            _flow_input(call, child, f"{where}.children[{i}]", depth + 1)
            for i, child in enumerate(children)
        ],
    }


def _flow_view(call: Call, tree: dict[str, Any]) -> dict[str, Any]:
    job: Job = tree["job"]
    shown = views.job(job) if call.principal.can_read else {"id": job.id, "queue": job.queue}
    return {"job": shown, "children": [_flow_view(call, c) for c in tree["children"]]}


@endpoint(roles=(ADMIN, SERVICE), audit=Action.ADD_FLOW, status=201)
async def add_flow(call: Call) -> Any:
    """BullMQ's FlowProducer: a parent and its children, nested to any depth, added in one
    transaction. A parent waits in `waiting-children` until every child has completed;
    a child that fails for good fails it, unless the child's opts say
    `failParentOnFailure: false`. SERVICE may add a flow only if it may add to every
    queue in it.
    ---
    summary: Add a flow
    requestBody:
      required: true
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/FlowNode"
    responses:
      "201":
        description: "`data` is the tree as {job, children: [...]}."
      "400": {$ref: "#/components/responses/Error"}
      "403": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    body = await inputs.json_object(call.request, call.context.settings.max_payload_bytes)
    tree = await call.manager.add_flow(_flow_input(call, body, "flow"))
    call.job_id = tree["job"].id
    call.detail["queue"] = tree["job"].queue
    return _flow_view(call, tree)


@endpoint()
async def children(call: Call) -> Any:
    """A flow parent's children, in any queue, with their states and results.
    ---
    summary: A job's children
    parameters:
      - $ref: "#/components/parameters/Queue"
      - $ref: "#/components/parameters/JobId"
    responses:
      "200":
        description: "`data` is a list of jobs."
      "400": {$ref: "#/components/responses/Error"}
    """
    queue, job_id = _target(call)
    return [views.job(j) for j in await call.manager.get_job_children(queue, job_id)]


ROUTES = [
    Route("/flows", add_flow, methods=["POST"]),
    Route("/queues/{queue}/job/{id}/children", children, methods=["GET"]),
    Route("/queues/{queue}/job/{id}/cancel", cancel, methods=["POST"]),
    Route("/queues/{queue}/job/{id}/wait", wait, methods=["GET"]),
    Route("/queues/{queue}/limits", limits, methods=["GET"]),
    Route("/queues/{queue}/rate-limit", set_rate_limit, methods=["PUT"]),
    Route("/queues/{queue}/global-concurrency", set_global_concurrency, methods=["PUT"]),
]
