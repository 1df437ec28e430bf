"""Queue-wide routes: the guide's stats, failed list, pause, resume and clean, plus
listing jobs by state, retrying every failed job, and adding a job over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.routing import Route

from pgqueue.admin.errors import ApiError
from pgqueue.admin.roles import ADMIN, ADMIN_ONLY_QUEUES, SERVICE, Action
from pgqueue.api import inputs, views
from pgqueue.api.endpoint import Call, endpoint
from pgqueue.models import Job, QueueName
from pgqueue.options import KNOWN_OPTIONS, option_name

DEFAULT_PAGE_END = 99


@endpoint()
async def all_stats(call: Call) -> Any:
    """Counts by state for every queue: the eight always, then any other with jobs.
    ---
    summary: All queues' counts
    responses:
      "200":
        description: "`data` maps each queue name to its counts."
      "401": {$ref: "#/components/responses/Error"}
      "403": {$ref: "#/components/responses/Error"}
    """
    return await call.manager.get_all_queue_stats()


@endpoint()
async def queue_stats(call: Call) -> Any:
    """
    ---
    summary: One queue's counts
    parameters:
      - $ref: "#/components/parameters/Queue"
    responses:
      "200":
        description: "`data` is the queue's counts by state."
      "422": {$ref: "#/components/responses/Error"}
    """
    return await call.manager.get_queue_stats(inputs.path_text(call.request, "queue"))


@endpoint()
async def failed_jobs(call: Call) -> Any:
    """The guide's failed list; `end` defaults to the first hundred.
    ---
    summary: Failed jobs, newest first
    parameters:
      - $ref: "#/components/parameters/Queue"
      - $ref: "#/components/parameters/Start"
      - $ref: "#/components/parameters/End"
    responses:
      "200":
        description: "`data` is a list of jobs."
        content:
          application/json:
            schema:
              type: object
              properties:
                success: {type: boolean}
                data:
                  type: array
                  items: {$ref: "#/components/schemas/Job"}
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    start, end = inputs.page(call.request, DEFAULT_PAGE_END)
    queue = inputs.path_text(call.request, "queue")
    return [views.job(j) for j in await call.manager.get_failed_jobs(queue, start, end)]


@endpoint()
async def list_jobs(call: Call) -> Any:
    """
    ---
    summary: Jobs in one state, newest first
    parameters:
      - $ref: "#/components/parameters/Queue"
      - name: state
        in: query
        schema:
          type: string
          enum: [waiting, delayed, active, completed, failed, paused, cancelled]
          default: waiting
      - $ref: "#/components/parameters/Start"
      - $ref: "#/components/parameters/End"
    responses:
      "200":
        description: "`data` is a list of jobs."
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    start, end = inputs.page(call.request, DEFAULT_PAGE_END)
    state = call.request.query_params.get("state", "waiting")
    queue = inputs.path_text(call.request, "queue")
    return [views.job(j) for j in await call.manager.get_jobs(queue, state, start, end)]


@endpoint(audit=Action.PAUSE_QUEUE)
async def pause(call: Call) -> Any:
    """Workers take no new jobs from a paused queue; running jobs finish.
    ---
    summary: Pause a queue
    parameters:
      - $ref: "#/components/parameters/Queue"
    responses:
      "200":
        description: "`data` is {queue, paused: true}."
      "422": {$ref: "#/components/responses/Error"}
    """
    queue = inputs.path_text(call.request, "queue")
    await call.manager.pause_queue(queue)
    return {"queue": queue, "paused": True}


@endpoint(audit=Action.RESUME_QUEUE)
async def resume(call: Call) -> Any:
    """
    ---
    summary: Resume a paused queue
    parameters:
      - $ref: "#/components/parameters/Queue"
    responses:
      "200":
        description: "`data` is {queue, paused: false}."
      "422": {$ref: "#/components/responses/Error"}
    """
    queue = inputs.path_text(call.request, "queue")
    await call.manager.resume_queue(queue)
    return {"queue": queue, "paused": False}


@endpoint(audit=Action.CLEAN_QUEUE)
async def clean(call: Call) -> Any:
    """Bull's clean: remove jobs in `status` older than `grace` ms (finished jobs age from
    when they finished).
    ---
    summary: Remove old jobs
    parameters:
      - $ref: "#/components/parameters/Queue"
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Clean"}
    responses:
      "200":
        description: "`data` is {count, removed: [job ids]}."
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    body = await inputs.json_object(call.request, call.context.settings.max_payload_bytes)
    inputs.only_keys(body, {"grace", "status", "limit"})
    if "grace" not in body:
        raise ApiError(422, "grace (ms) is required")
    grace, status, limit = body["grace"], body.get("status", "completed"), body.get("limit")
    call.detail.update(grace=grace, status=status, limit=limit)
    queue = inputs.path_text(call.request, "queue")
    removed = await call.manager.clean_queue(queue, grace, status, limit)
    call.detail["removed"] = len(removed)
    return {"count": len(removed), "removed": removed}


@endpoint(audit=Action.RETRY_FAILED)
async def retry_failed(call: Call) -> Any:
    """
    ---
    summary: Retry every failed job of a queue
    parameters:
      - $ref: "#/components/parameters/Queue"
    responses:
      "200":
        description: "`data` is {count}."
      "422": {$ref: "#/components/responses/Error"}
    """
    count = await call.manager.retry_failed_jobs(inputs.path_text(call.request, "queue"))
    call.detail["count"] = count
    return {"count": count}


def job_options(raw: object) -> dict[str, Any]:
    """Options as `add_job` takes them: camelCase or snake_case names, `runAt` as an ISO
    8601 time with its offset."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(422, "opts must be a JSON object")
    options = {option_name(k): v for k, v in raw.items()}
    if len(options) < len(raw):
        twice = sorted(k for k in raw if option_name(k) != k and option_name(k) in raw)
        raise ApiError(422, f"give each option once, in one spelling: {twice}")
    unknown = set(options) - KNOWN_OPTIONS
    if unknown:
        raise ApiError(422, f"unknown job options: {sorted(unknown)}")
    run_at = options.get("run_at")
    if run_at is not None:
        if not isinstance(run_at, str):
            raise ApiError(422, f"runAt must be an ISO 8601 time, got {run_at!r}")
        try:
            # RFC 3339 allows a lower-case T and Z; fromisoformat wants them upper-case.
            moment = datetime.fromisoformat(run_at.upper())
        except ValueError:
            raise ApiError(422, f"runAt must be an ISO 8601 time, got {run_at!r}") from None
        if moment.tzinfo is None:
            raise ApiError(422, "runAt must include a UTC offset, e.g. 2030-01-01T09:00:00Z")
        options["run_at"] = moment
    return options


RAW_EMAIL_FIELDS = ("body", "html")


def may_add(call: Call, queue: str, data: object) -> None:
    """SERVICE adds only within its scope and never to `cleanup`; nobody sends raw email
    bodies over HTTP unless the operator allows it (templates are the normal path)."""
    principal = call.principal
    if not principal.may_add_to(queue):
        if principal.role != SERVICE:
            raise ApiError(403, f"the {principal.role} role may not add jobs")
        if queue in ADMIN_ONLY_QUEUES:
            raise ApiError(403, f"only ADMIN may add jobs to the {queue} queue")
        raise ApiError(403, f"this credential may add jobs only to: {principal.scope}")
    raw = isinstance(data, dict) and any(f in data for f in RAW_EMAIL_FIELDS)
    if queue == QueueName.EMAIL.value and raw and not call.context.settings.allow_raw_email:
        raise ApiError(
            403,
            "email jobs over the API use templates: `body` and `html` are refused "
            "(PGQUEUE_EMAIL_ALLOW_RAW=true allows them)",
        )


def _added(call: Call, job: Job) -> dict[str, Any]:
    """A caller who may read jobs gets the job; one who may only add gets what identifies
    its own request, never the data of a job someone else added under the same key."""
    if call.principal.can_read:
        return views.job(job)
    return {"id": job.id, "state": job.state.value, "inserted": bool(job.inserted)}


@endpoint(roles=(ADMIN, SERVICE), audit=Action.ADD_JOB, status=201)
async def add_job(call: Call) -> Any:
    """Options are Bull's (camelCase) or pgqueue's (snake_case) names.
    ---
    summary: Add a job
    parameters:
      - $ref: "#/components/parameters/Queue"
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/AddJob"}
    responses:
      "201":
        description: >-
          `data` is the job (an existing one when jobId was added before). A caller
          who may not read jobs (SERVICE) gets only {id, state, inserted}.
        content:
          application/json:
            schema:
              type: object
              properties:
                success: {type: boolean}
                data: {$ref: "#/components/schemas/Job"}
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    body = await inputs.json_object(call.request, call.context.settings.max_payload_bytes)
    inputs.only_keys(body, {"name", "data", "opts"})
    options = job_options(body.get("opts"))
    queue = inputs.path_text(call.request, "queue")
    may_add(call, queue, body.get("data"))
    job = await call.manager.add_job(queue, body.get("name"), body.get("data"), **options)  # type: ignore[arg-type]
    call.detail.update(name=job.name, inserted=bool(job.inserted))
    call.job_id = job.id
    return _added(call, job)


ROUTES = [
    Route("/queues", all_stats, methods=["GET"]),
    Route("/queues/{queue}/stats", queue_stats, methods=["GET"]),
    Route("/queues/{queue}/failed", failed_jobs, methods=["GET"]),
    Route("/queues/{queue}/jobs", list_jobs, methods=["GET"]),
    Route("/queues/{queue}/jobs", add_job, methods=["POST"]),
    Route("/queues/{queue}/pause", pause, methods=["POST"]),
    Route("/queues/{queue}/resume", resume, methods=["POST"]),
    Route("/queues/{queue}/clean", clean, methods=["POST"]),
    Route("/queues/{queue}/retry-failed", retry_failed, methods=["POST"]),
]
