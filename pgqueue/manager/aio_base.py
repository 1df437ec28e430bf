"""The async manager's pool: opened on first use, owned by the event loop that opened it.

This and `sync_base.py` are the only hand-written halves of the two managers: everything
else in `SyncJobQueueManager` is generated from `JobQueueManager` (`make twins`).
"""

from __future__ import annotations

import asyncio
from typing import Self, TypeVar

from pgqueue.config import Settings
from pgqueue.db.connect import resolve_database_url, session_url
from pgqueue.models import Job
from pgqueue.registry import Registry, default_registry
from pgqueue.store import feature_ops, waiting
from pgqueue.store.aio import AsyncStore, open_store
from pgqueue.store.ops import Op

T = TypeVar("T")


class AsyncManagerBase:
    """Every method is a coroutine, as in the guide. The pool opens on first use and
    belongs to the event loop that first used it."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        registry: Registry | None = None,
        pool_size: int = 10,
    ) -> None:
        self._database_url = database_url
        self._settings = settings
        self.registry = registry if registry is not None else default_registry
        self._pool_size = pool_size
        self._store: AsyncStore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def database_url(self) -> str:
        return resolve_database_url(self._database_url)

    async def _open(self) -> AsyncStore:
        loop = asyncio.get_running_loop()
        if self._store is not None and self._loop is loop:
            return self._store
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._store = asyncio.Lock(), loop, None
        async with self._lock:
            if self._store is None:
                url = await asyncio.to_thread(resolve_database_url, self._database_url)
                self._store = await open_store(url, self.settings, max_size=self._pool_size)
        return self._store

    async def _run(self, op: Op[T]) -> T:
        store = await self._open()
        return await store.run(op)

    async def _wait_until_finished(self, queue: str, job_id: str | int, timeout: float) -> Job:
        """The blocking and the asyncio waits differ in their LISTEN connection."""
        store = await self._open()
        url = await asyncio.to_thread(resolve_database_url, self._database_url)
        listen = session_url(url, self.settings)

        async def read() -> Job | None:
            return await store.run(feature_ops.job_outcome(queue, job_id))

        if listen is None:
            interval = self.settings.poll_interval
            return await waiting.poll_async(read, queue, job_id, timeout, interval)
        return await waiting.wait_async(listen, read, queue, job_id, timeout)

    async def close(self) -> None:
        if self._store is not None and self._loop is asyncio.get_running_loop():
            await self._store.close()
        self._store = None

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
