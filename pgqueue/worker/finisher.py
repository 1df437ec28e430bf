"""Writes completions in batches: one round trip for every job that finished meanwhile.

While batches are being written, newly finished jobs queue up for the next, so the batch
size follows the load with no timer: one job when idle, hundreds under a flood. Two
batches may be in flight at once, on two connections: under a flood a single writer
becomes the pace of the whole worker, and batches never share a job.

Backpressure: the finisher counts the jobs its worker holds, from claim to written
record (running, finished but unrecorded, or being written). Pools claim only while that
count stays under `limit` (by default twice the worker's slots), so when writes lag the
worker stops claiming instead of running jobs whose results pile up in memory, all of
which a crash would run again. A stop ends once the count is back to half the limit.
Under a flood of short jobs that happens many times a second, so a stop is logged at
most once a minute, with the number of stops since the last line, and its end is logged
only for a stop that was.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from pgqueue.db.availability import is_unavailable
from pgqueue.models import Job
from pgqueue.store import chart_ops, ops
from pgqueue.store.aio import AsyncStore
from pgqueue.worker.minutes import MinuteCounts

logger = logging.getLogger(__name__)

MAX_BATCH = 2000
MAX_WRITES = 2
PAUSE_LOG_SECONDS = 60.0
COUNTS_SECONDS = 1.0
"""How often the per-minute counts of completed jobs are sent (see `minutes`)."""

Pending = tuple[int, uuid.UUID, str, Job]


class Finisher:
    def __init__(self, store: AsyncStore, limit: int) -> None:
        self._store = store
        self.limit = max(limit, 1)
        self.held = 0
        """Jobs claimed and not yet recorded as finished."""
        self.room = asyncio.Event()
        """Set while pools may claim."""
        self.room.set()
        self._lagging = False
        self._pauses = 0
        """Stops since the last one logged."""
        self._pause_logged_at: float | None = None
        self._logged_this_pause = False
        self._pending: list[Pending] = []
        self._minutes = MinuteCounts()
        self._sending: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._writing: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="pgqueue-finisher")

    def hold(self, jobs: int) -> None:
        """`jobs` were claimed; they count until recorded (`settle`)."""
        self.held += jobs
        if self.held >= self.limit:
            self.room.clear()
            if not self._lagging:
                self._lagging = True
                self._pauses += 1
                now = time.monotonic()
                last = self._pause_logged_at
                self._logged_this_pause = last is None or now - last >= PAUSE_LOG_SECONDS
                if self._logged_this_pause:
                    logger.warning(
                        "completion writes are behind; claiming paused until they catch up",
                        extra={
                            "action": "claims_paused",
                            "held": self.held,
                            "limit": self.limit,
                            "pauses": self._pauses,
                        },
                    )
                    self._pause_logged_at = now
                    self._pauses = 0

    def settle(self, jobs: int) -> None:
        """`jobs` held ones are recorded (completed, failed, retried or put back)."""
        self.held -= jobs
        if self.held < self.limit:
            self.room.set()
        if self._lagging and self.held <= self.limit // 2:
            self._lagging = False
            if self._logged_this_pause:
                logger.info(
                    "completion writes caught up",
                    extra={"action": "claims_resumed", "held": self.held, "limit": self.limit},
                )

    def complete(self, job_id: int, lease: uuid.UUID, result_json: str, job: Job) -> None:
        self._pending.append((job_id, lease, result_json, job))
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

    async def _write(self, batch: list[Pending]) -> None:
        delay = 0.05
        op = ops.complete([(job_id, lease, result) for job_id, lease, result, _ in batch])
        while True:
            try:
                written = await self._store.run(op)
                break
            except Exception as exc:
                # The jobs are done; only the record is missing. Keep trying: if this
                # process dies first, the jobs are rescued and run again (at-least-once).
                # A lost database is expected here and said in one line.
                logger.log(
                    logging.WARNING if is_unavailable(exc) else logging.ERROR,
                    f"writing completions failed; retrying: {exc}",
                    exc_info=not is_unavailable(exc),
                    extra={"action": "complete_retry", "jobs": len(batch)},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.settle(len(batch))
        if written.at is not None:
            ids = written.ids
            self._minutes.completed(written.at, (job for i, _, _, job in batch if i in ids))
            if self._sending is None:
                self._sending = asyncio.create_task(self._send_counts(COUNTS_SECONDS))
        if len(written.ids) != len(batch):
            logger.warning(
                "completions refused: lease lost",
                extra={"action": "lease_lost", "jobs": len(batch) - len(written.ids)},
            )

    async def _send_counts(self, after: float) -> None:
        await asyncio.sleep(after)
        self._sending = None
        if not await self._flush_counts() and self._sending is None:
            self._sending = asyncio.create_task(self._send_counts(COUNTS_SECONDS))

    async def _flush_counts(self) -> bool:
        """Send the counts gathered so far; True when all went. What does not go, a
        failure or a cancel midway, is kept for the next send."""
        taken = list(self._minutes.take().items())
        try:
            while taken:
                (queue, minute), counts = taken[0]
                await self._store.run(
                    chart_ops.add_completed_minute(
                        queue, minute, counts.completed, counts.wait_ms, counts.run_ms
                    )
                )
                taken.pop(0)
        except Exception as exc:
            logger.warning(
                f"sending per-minute counts failed; retrying: {exc}",
                extra={"action": "minute_counts_retry", "minutes": len(taken)},
            )
            return False
        finally:
            for key, counts in taken:
                self._minutes.put_back(key, counts)
        return True

    async def drain(self) -> None:
        """Wait until everything handed in so far is written."""
        await self._idle.wait()

    async def stop(self) -> None:
        await self.drain()
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.cancel()
            await asyncio.wait({sending})
        if self._minutes and not await self._flush_counts():
            logger.warning(
                "per-minute counts of the last completions were not sent",
                extra={"action": "minute_counts_lost"},
            )
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # not `await`: that would re-raise its cancel
