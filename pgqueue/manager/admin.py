"""The admin service: what the API and the dashboard keep beside jobs — tokens, dashboard
sessions, the audit log, readiness and the figures behind `/metrics` — run on the
manager's own pool, so a process serving them holds one pool, not two.

It sits directly beneath the manager's public methods and is the only way the admin
surfaces reach these tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from pgqueue.db import migrate
from pgqueue.manager.aio import JobQueueManager
from pgqueue.store import auth_ops, health_ops, metrics_ops
from pgqueue.store.auth_ops import AuditEntry, SessionStart, TokenRecord
from pgqueue.store.dashboard_ops import IDLE, QueueActivity
from pgqueue.store.metrics_ops import Timings

__all__ = [
    "IDLE",
    "AdminService",
    "AuditEntry",
    "QueueActivity",
    "SessionStart",
    "Timings",
    "TokenRecord",
]


class AdminService:
    """Bound to one manager; opens nothing of its own."""

    def __init__(self, manager: JobQueueManager) -> None:
        self.manager = manager

    async def create_token(
        self,
        name: str,
        token_hash: str,
        role: str,
        ttl_seconds: int,
        queues: Sequence[str] | None = None,
    ) -> dict[str, Any] | None:
        """The new token's row; None when the name is taken."""
        return await self.manager._run(
            auth_ops.create_token(name, token_hash, role, ttl_seconds, queues)
        )

    async def revoke_token(self, name: str) -> bool:
        """Revokes the token and ends the dashboard sessions it opened."""
        return await self.manager._run(auth_ops.revoke_token(name))

    async def list_tokens(self) -> list[dict[str, Any]]:
        return await self.manager._run(auth_ops.list_tokens())

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        return await self.manager._run(auth_ops.find_token(token_hash))

    async def write_audit(self, entry: AuditEntry) -> None:
        await self.manager._run(auth_ops.write_audit(entry))

    async def read_audit(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return await self.manager._run(auth_ops.read_audit(offset, limit))

    async def start_session(self, start: SessionStart) -> None:
        await self.manager._run(auth_ops.start_session(start))

    async def touch_session(self, session_hash: str, idle_seconds: int) -> tuple[str, str] | None:
        return await self.manager._run(auth_ops.touch_session(session_hash, idle_seconds))

    async def end_session(self, session_hash: str) -> bool:
        return await self.manager._run(auth_ops.end_session(session_hash))

    async def prune_sessions(self) -> None:
        await self.manager._run(auth_ops.prune_sessions())

    @staticmethod
    def head_revision() -> str | None:
        """The revision this installation's migrations end at (read from its files)."""
        return migrate.head_revision()

    async def schema_revision(self) -> str | None:
        """None when pgqueue's schema was never migrated into this database."""
        try:
            return await self.manager._run(health_ops.schema_revision())
        except psycopg.errors.UndefinedTable:
            return None

    async def job_timings(
        self, queues: Sequence[str], window_seconds: int, bounds: Sequence[float]
    ) -> dict[str, Timings]:
        return await self.manager._run(
            metrics_ops.finished_job_timings(queues, window_seconds, bounds)
        )

    async def retrying_jobs(self) -> dict[str, int]:
        return await self.manager._run(metrics_ops.retrying_jobs())
