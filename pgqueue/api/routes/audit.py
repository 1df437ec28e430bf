"""Reading the audit log of admin calls."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pgqueue.api import inputs, views
from pgqueue.api.endpoint import Call, endpoint
from pgqueue.manager.core import page

DEFAULT_PAGE_END = 99


@endpoint()
async def read_audit(call: Call) -> Any:
    """Every mutating admin call, newest first: who, what, where, when and the outcome
    (`success` or the error code the caller received).
    ---
    summary: The audit log
    parameters:
      - $ref: "#/components/parameters/Start"
      - $ref: "#/components/parameters/End"
    responses:
      "200":
        description: >-
          `data` is a list of {id, timestamp, actor, role, action, queue, jobId,
          outcome, detail}.
      "400": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    offset, limit = page(*inputs.page(call.request, DEFAULT_PAGE_END))
    rows = await call.context.admin.audit.read(offset, limit)
    return [views.audit_entry(row) for row in rows]


ROUTES = [Route("/audit", read_audit, methods=["GET"])]
