"""Writes completions in batches: one round trip for every job that finished meanwhile.

While batches are being written, newly finished jobs queue up for the next, so the batch
size follows the load with no timer: one job when idle, hundreds under a flood. Two
batches may be in flight at once, on two connections: under a flood a single writer
becomes the pace of the whole worker, and batches never share a job.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress

from pgqueue.store import ops
from pgqueue.store.aio import AsyncStore

logger = logging.getLogger(__name__)

MAX_BATCH = 2000
MAX_WRITES = 2


class Finisher:
    def __init__(self, store: AsyncStore) -> None:
        self._store = store
        self._pending: list[tuple[int, uuid.UUID, str]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="pgqueue-finisher")

    def complete(self, job_id: int, lease: uuid.UUID, result_json: str) -> None:
        self._pending.append((job_id, lease, result_json))
        self._idle.clear()
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending and len(self._writing) < MAX_WRITES:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                task = asyncio.create_task(self._write(batch))
                self._writing.add(task)
                task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing.discard(task)
        if self._pending:
            self._wake.set()
        elif not self._writing:
            self._idle.set()

    async def _write(self, batch: list[tuple[int, uuid.UUID, str]]) -> None:
        delay = 0.05
        while True:
            try:
                written = await self._store.run(ops.complete(batch))
                break
            except Exception:
                # The jobs are done; only the record is missing. Keep trying: if this
                # process dies first, the jobs are rescued and run again (at-least-once).
                logger.exception(
                    "writing completions failed; retrying",
                    extra={"action": "complete_retry", "jobs": len(batch)},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        if len(written) != len(batch):
            logger.warning(
                "completions refused: lease lost",
                extra={"action": "lease_lost", "jobs": len(batch) - len(written)},
            )

    async def drain(self) -> None:
        """Wait until everything handed in so far is written."""
        await self._idle.wait()

    async def stop(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
