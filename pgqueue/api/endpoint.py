"""The shape every admin route shares: authenticate, authorise, run, answer in the
envelope, and — for calls that change something — write the audit log either way."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pgqueue.api.auth import ADMIN, Principal, authenticate, authorise
from pgqueue.api.context import ApiContext, context
from pgqueue.api.errors import problem_for
from pgqueue.manager.aio import JobQueueManager
from pgqueue.store.auth_ops import AuditEntry

logger = logging.getLogger("pgqueue.api")

SUCCESS = "success"


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
    return JSONResponse({"success": True, "data": data}, status_code=status)


async def _audit(call: Call, action: str, outcome: str) -> None:
    params = call.request.path_params
    job_id = call.job_id if call.job_id is not None else params.get("id")
    entry = AuditEntry(
        actor=call.principal.actor,
        role=call.principal.role,
        action=action,
        queue=params.get("queue"),
        job_id=None if job_id is None else str(job_id)[:64],
        outcome=outcome,
        detail=call.detail,
    )
    call.context.metrics.admin_action(action, outcome)
    await call.context.store.write_audit(entry)


def endpoint(
    *, roles: Collection[str] = (ADMIN,), audit: str | None = None, status: int = 200
) -> Callable[[Handler], Endpoint]:
    """`audit` names the action for the audit log; reads leave it out."""

    def wrap(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            ctx = context(request)
            principal = await authenticate(
                ctx.store, ctx.settings.jwt_secret, request.headers.get("authorization")
            )
            call = Call(request, principal, ctx)
            if audit is None:
                authorise(principal, roles)
                return envelope(await handler(call), status)
            try:
                authorise(principal, roles)
                data = await handler(call)
            except Exception as exc:
                try:
                    await _audit(call, audit, problem_for(exc).code)
                except Exception:
                    logger.exception(
                        "could not write the audit log", extra={"action": "audit_failed"}
                    )
                raise
            await _audit(call, audit, SUCCESS)
            return envelope(data, status)

        return run

    return wrap
