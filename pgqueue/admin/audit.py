"""Writing the audit log: one entry per mutating call or sign-in, whatever its outcome,
built the same way for the API and the dashboard."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pgqueue.admin.roles import Principal
from pgqueue.manager.admin import AdminService, AuditEntry

logger = logging.getLogger("pgqueue.audit")

MAX_JOB_ID = 64

AuditObserver = Callable[[str, str], None]
"""Told (action, outcome) of every entry written, e.g. to count them for /metrics."""


def _storable(value: Any) -> Any:
    """What a caller sent, as the audit log can keep it: PostgreSQL stores no NUL
    character, so one is written as U+FFFD rather than losing the entry."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


class AuditLog:
    def __init__(self, service: AdminService) -> None:
        self._service = service
        self.observers: list[AuditObserver] = []

    async def record(
        self,
        who: Principal,
        action: str,
        outcome: str,
        *,
        queue: str | None = None,
        job_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Never raises: a failed write is logged, and the call it describes stands."""
        extra = _storable(dict(detail or {}))
        if who.queues is not None:
            extra["scope"] = list(who.queues)
        entry = AuditEntry(
            actor=who.actor,
            role=who.role,
            action=action,
            queue=None if queue is None else _storable(queue),
            job_id=None if job_id is None else _storable(job_id[:MAX_JOB_ID]),
            outcome=outcome,
            detail=extra,
        )
        for observe in self.observers:
            observe(action, outcome)
        try:
            await self._service.write_audit(entry)
        except Exception:
            logger.exception("could not write the audit log", extra={"action": "audit_failed"})

    async def read(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return await self._service.read_audit(offset, limit)
