"""The shape every admin route shares: authenticate, authorise, run, answer in the
envelope, and — for calls that change something — write the audit log either way."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pgqueue.admin.context import client_address
from pgqueue.admin.errors import ApiError, problem_for
from pgqueue.admin.roles import ADMIN, READERS, SUCCESS, Principal
from pgqueue.api.context import ApiContext, context
from pgqueue.manager.aio import JobQueueManager

NO_SNIFF = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
"""On every answer that may carry job data: never cached, never sniffed as HTML."""


@dataclass
class Call:
    """One authenticated request, as a handler sees it. A handler adds to `detail` what
    the audit log should keep beside who, what and where."""

    request: Request
    principal: Principal
    context: ApiContext
    detail: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    """The job the call concerns when the path does not name it (a job just added)."""

    @property
    def manager(self) -> JobQueueManager:
        return self.context.manager


Handler = Callable[[Call], Awaitable[Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


def envelope(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "data": data}, status_code=status, headers=NO_SNIFF)


def authorise(principal: Principal, roles: Collection[str]) -> None:
    if principal.role not in roles:
        raise ApiError(403, f"the {principal.role} role may not do this")


async def _audit(call: Call, action: str, outcome: str) -> None:
    params = call.request.path_params
    job_id = call.job_id if call.job_id is not None else params.get("id")
    await call.context.admin.audit.record(
        call.principal,
        action,
        outcome,
        queue=params.get("queue"),
        job_id=None if job_id is None else str(job_id),
        detail=call.detail,
    )


def endpoint(
    *, roles: Collection[str] | None = None, audit: str | None = None, status: int = 200
) -> Callable[[Handler], Endpoint]:
    """`audit` names the action for the audit log; reads leave it out. Reads are for
    ADMIN and VIEWER, changes for ADMIN, unless `roles` says otherwise."""
    allowed = roles if roles is not None else (READERS if audit is None else (ADMIN,))

    def wrap(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            ctx = context(request)
            principal = await ctx.admin.auth.authenticate(
                request.headers.get("authorization"), client_address(request)
            )
            call = Call(request, principal, ctx)
            if audit is None:
                authorise(principal, allowed)
                return envelope(await handler(call), status)
            try:
                authorise(principal, allowed)
                data = await handler(call)
            except Exception as exc:
                await _audit(call, audit, problem_for(exc).code)
                raise
            await _audit(call, audit, SUCCESS)
            return envelope(data, status)

        return run

    return wrap
