"""What the API keeps for itself — tokens, the audit log, metric samples — run by the
store's own executor on a small pool, so the API module never holds SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pgqueue.db.connect import async_pool
from pgqueue.store import auth_ops, metrics_ops
from pgqueue.store.aio import AsyncStore
from pgqueue.store.auth_ops import AuditEntry, TokenRecord
from pgqueue.store.metrics_ops import Timings

POOL_SIZE = 4


class ApiStore:
    """Opened and closed by the app's lifespan, in the event loop that serves requests."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._store: AsyncStore | None = None

    async def open(self) -> None:
        pool = async_pool(self._url, max_size=POOL_SIZE)
        await pool.open(wait=True)
        self._store = AsyncStore(pool)

    async def close(self) -> None:
        if self._store is not None:
            await self._store.pool.close()
            self._store = None

    @property
    def _opened(self) -> AsyncStore:
        if self._store is None:
            raise RuntimeError("the API's store is used outside the app's lifespan")
        return self._store

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        return await self._opened.run(auth_ops.find_token(token_hash))

    async def write_audit(self, entry: AuditEntry) -> None:
        await self._opened.run(auth_ops.write_audit(entry))

    async def read_audit(self, offset: int, limit: int) -> list[dict[str, Any]]:
        return await self._opened.run(auth_ops.read_audit(offset, limit))

    async def job_timings(
        self, queues: Sequence[str], window_seconds: int, bounds: Sequence[float]
    ) -> dict[str, Timings]:
        return await self._opened.run(
            metrics_ops.finished_job_timings(queues, window_seconds, bounds)
        )

    async def retrying_jobs(self) -> dict[str, int]:
        return await self._opened.run(metrics_ops.retrying_jobs())
