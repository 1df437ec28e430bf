"""Routes on one job: read it with its logs, retry it (the guide's), promote or remove it."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pgqueue.admin.roles import Action
from pgqueue.api import inputs, views
from pgqueue.api.endpoint import Call, endpoint
from pgqueue.errors import JobNotFoundError

MAX_LOG_LINES = 1000


def _target(call: Call) -> tuple[str, str]:
    return inputs.path_text(call.request, "queue"), inputs.job_id(call.request)


@endpoint()
async def job_detail(call: Call) -> Any:
    """A job with everything known about it, its last log lines included.
    ---
    summary: One job
    parameters:
      - $ref: "#/components/parameters/Queue"
      - $ref: "#/components/parameters/JobId"
    responses:
      "200":
        description: "`data` is the job, with `logs` [{timestamp, message}]."
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
    """
    queue, job_id = _target(call)
    job = await call.manager.get_job(queue, job_id)
    if job is None:
        raise JobNotFoundError(f"job {job_id} not found in queue {queue!r}")
    logs = await call.manager.get_job_logs(queue, job.id, 0, MAX_LOG_LINES - 1)
    return views.job_detail(job, logs)


@endpoint(audit=Action.RETRY_JOB)
async def retry(call: Call) -> Any:
    """Only a failed or cancelled job can be retried (409 otherwise); it waits again with
    fresh attempts.
    ---
    summary: Retry a failed or cancelled job
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
    return {"id": await call.manager.retry_job(*_target(call))}


@endpoint(audit=Action.PROMOTE_JOB)
async def promote(call: Call) -> Any:
    """Only a delayed job can be promoted (409 otherwise).
    ---
    summary: Run a delayed job now
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
    return {"id": await call.manager.promote_job(*_target(call))}


@endpoint(audit=Action.REMOVE_JOB)
async def remove(call: Call) -> Any:
    """An active job belongs to its worker and is not removed (409).
    ---
    summary: Remove a job
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
    return {"id": await call.manager.remove_job(*_target(call))}


ROUTES = [
    Route("/queues/{queue}/job/{id}", job_detail, methods=["GET"]),
    Route("/queues/{queue}/job/{id}", remove, methods=["DELETE"]),
    Route("/queues/{queue}/job/{id}/retry", retry, methods=["POST"]),
    Route("/queues/{queue}/job/{id}/promote", promote, methods=["POST"]),
]
