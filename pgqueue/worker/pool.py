"""One queue's pool: claims as many jobs as it has free slots and runs them.

The fetch loop claims a batch sized to the free slots in one round trip (at most
`MAX_CLAIM`). Slots free one job at a time, so under steady work the claims follow the
jobs finishing; a fleet of short jobs frees the whole pool between two claims, and one
claim then fills it (claiming half the slots at a time, as before, cost twice the round
trips and claims for no gain: the next claim went out while the batch ran either way).
After a full batch it claims again at once (there is probably more); after a short one
it sleeps
until NOTIFY says a job is ready, a local timer says a delayed job is due, or the poll
interval passes (the fallback should a notification be missed). It claims only while
the finisher has room (see `Finisher`): when completion writes lag, claiming waits.

A queue with a rate limit or a global concurrency (`limited`) claims with a statement of
its own, which takes turns with every other worker's; held back by its rate, the pool
sleeps until a start leaves the window. Cancelling a running job cancels an `async def`
processor's task; a plain `def` processor runs on in its thread, sees
`job.cancel_requested`, and keeps its slot until it returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from pgqueue.config import Settings
from pgqueue.db.availability import is_unavailable
from pgqueue.errors import UnrecoverableError
from pgqueue.models import Job
from pgqueue.options import backoff_delay_ms, encode_json
from pgqueue.registry import Registration, Registry
from pgqueue.store import feature_ops, ops
from pgqueue.store.aio import AsyncStore
from pgqueue.worker.finisher import Finisher
from pgqueue.worker.job import RunningJob

logger = logging.getLogger(__name__)

MAX_CLAIM = 500
CONCURRENCY_RETRY_SECONDS = 0.1
"""How soon a pool held back by its queue's global concurrency tries again: a slot frees
when a job finishes on any worker, which no notification announces."""


class JobTimeoutError(Exception):
    """The processor ran past the job's `timeout`."""


class QueuePool:
    def __init__(
        self,
        queue: str,
        concurrency: int,
        *,
        store: AsyncStore,
        registry: Registry,
        finisher: Finisher,
        executor: ThreadPoolExecutor,
        worker_id: uuid.UUID,
        poll_interval: float,
        database_url: str,
        settings: Settings,
    ) -> None:
        self._database_url = database_url
        self._settings = settings
        self.queue = queue
        self.concurrency = concurrency
        self._store = store
        self._registry = registry
        self._finisher = finisher
        self._executor = executor
        self._worker_id = worker_id
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._slot_free.set()
        self.running: dict[asyncio.Task[None], tuple[int, uuid.UUID]] = {}
        self._fetcher: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._lost_claims: set[uuid.UUID] = set()
        self._async_fns: dict[Callable[[Any], Any], bool] = {}
        self._claim_size = min(MAX_CLAIM, concurrency)
        self.limited = False
        self._cancelled: set[int] = set()
        self._threads: set[int] = set()

    def start(self) -> None:
        self._fetcher = asyncio.create_task(self._fetch_loop(), name=f"pgqueue-fetch-{self.queue}")

    def wake(self, at_ms: int = 0) -> None:
        """A job is ready now, or will be at `at_ms` (epoch ms)."""
        loop = asyncio.get_running_loop()
        delay = at_ms / 1000 - time.time() if at_ms else 0
        if delay <= 0.001:
            self._wake.set()
        else:
            self._timers = [t for t in self._timers if not t.cancelled()]
            self._timers.append(loop.call_later(delay, self._wake.set))

    async def stop_claiming(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._fetcher is not None:
            self._fetcher.cancel()
            # Bounded: a claim cut mid-query must not hold up the whole shutdown.
            await asyncio.wait({self._fetcher}, timeout=5.0)

    async def _fetch_loop(self) -> None:
        # Looked up once: on Python 3.11 every `asyncio.get_running_loop()` (and so every
        # `asyncio.create_task`) is a getpid() system call, two per job at no-op speed.
        loop = asyncio.get_running_loop()
        more = True
        while True:
            await self._slot_free.wait()
            if not more:
                # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that
                # arrives as the event is set, and `stop_claiming` would not stop this loop.
                with suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval):
                        await self._wake.wait()
            self._wake.clear()
            free = self.concurrency - len(self.running)
            if free <= 0:
                self._slot_free.clear()
                continue
            if not self._finisher.room.is_set():
                await self._finisher.room.wait()
                more = True
                continue
            # Never more than the finisher can still hold: `held` stays within its limit.
            want = min(free, self._claim_size, self._finisher.limit - self._finisher.held)
            claim = ops.claim(self.queue, want, self._worker_id)
            try:
                await self.release_lost_claims()
                if self.limited:
                    claimed = await self._claim_limited(want, claim.params["lease"])
                else:
                    claimed = await self._store.run(claim)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The claim may have committed with its answer lost: remember its lease.
                self._lost_claims.add(claim.params["lease"])
                if is_unavailable(exc):  # an outage: expected, retried, one line
                    logger.warning(
                        f"claim failed: {exc}",
                        extra={"action": "claim_failed", "queue": self.queue},
                    )
                else:
                    logger.exception(
                        "claim failed", extra={"action": "claim_failed", "queue": self.queue}
                    )
                more = False
                continue
            more = len(claimed) == want
            self._finisher.hold(len(claimed))
            for job, lease in claimed:
                task = loop.create_task(self._execute(job, lease, loop))
                self.running[task] = (int(job.id), lease)
                task.add_done_callback(self._done)
            if len(self.running) >= self.concurrency:
                self._slot_free.clear()

    async def _claim_limited(self, want: int, lease: uuid.UUID) -> list[tuple[Job, uuid.UUID]]:
        result = await self._store.run_after(
            feature_ops.lock_queue_limits(self.queue),
            feature_ops.claim_limited(self.queue, want, self._worker_id, lease),
        )
        if len(result.jobs) < want:
            if result.rate_wait_ms is not None:
                self.wake(int(time.time() * 1000) + result.rate_wait_ms)
            elif result.concurrency_full:
                self.wake(int((time.time() + CONCURRENCY_RETRY_SECONDS) * 1000))
        return result.jobs

    async def _children_values(self, job_id: int) -> dict[str, Any]:
        return await self._store.run(feature_ops.children_values(job_id))

    def cancel(self, job_id: int) -> bool:
        """`cancel_job` ended this job: stop it if it runs here. Its outcome is not
        written (the job is already cancelled in the database)."""
        if job_id in self._cancelled:
            return False
        for task, (running_id, _) in self.running.items():
            if running_id == job_id:
                self._cancelled.add(job_id)
                if job_id not in self._threads:
                    task.cancel()
                return True
        return False

    async def release_lost_claims(self) -> None:
        if not self._lost_claims:
            return
        released = await self._store.run(
            ops.release_lost_claims(self._worker_id, list(self._lost_claims))
        )
        self._lost_claims.clear()
        if released:
            logger.warning(
                "jobs of a lost claim put back",
                extra={"action": "lost_claim_released", "jobs": sorted(released)},
            )

    def _done(self, task: asyncio.Task[None]) -> None:
        item = self.running.pop(task, None)
        if self._cancelled and item is not None:
            self._cancelled.discard(item[0])
        self._slot_free.set()

    async def _write(self, job_id: int, lease: uuid.UUID, kind: str, value: Any) -> None:
        if kind == "progress":
            await self._store.run(ops.update_progress(job_id, lease, value))
        else:
            await self._store.run(ops.add_log(job_id, lease, value))

    def _is_async(self, registration: Registration) -> bool:
        """`inspect` is slow enough to show per job; a processor's kind never changes."""
        found = self._async_fns.get(registration.fn)
        if found is None:
            found = self._async_fns[registration.fn] = registration.is_async
        return found

    async def _execute(self, job: Job, lease: uuid.UUID, loop: asyncio.AbstractEventLoop) -> None:
        job_id = int(job.id)
        registration = self._registry.find(job.queue, job.name)

        async def write(kind: str, value: Any) -> None:
            await self._write(job_id, lease, kind, value)

        handle = RunningJob(
            job,
            lease,
            write,
            loop,
            database_url=self._database_url,
            settings=self._settings,
            cancelled=self._cancelled,
            read_children=self._children_values,
        )
        timeout_ms = job.opts.get("timeout")
        debug = logger.isEnabledFor(logging.DEBUG)
        started = time.monotonic() if debug else 0.0
        try:
            if registration is None:
                raise LookupError(f"no processor for job {job.name!r} in queue {job.queue!r}")
            if self._is_async(registration):
                call = registration.fn(handle)
            else:
                self._threads.add(job_id)
                call = loop.run_in_executor(self._executor, registration.fn, handle)
                call.add_done_callback(lambda _: self._threads.discard(job_id))
            if timeout_ms:
                try:
                    async with asyncio.timeout(timeout_ms / 1000):
                        result = await call
                except TimeoutError:
                    raise JobTimeoutError(f"job timed out after {timeout_ms} ms") from None
            else:
                result = await call
            result_json = (
                "null" if result is None else encode_json(result, "the processor's return value")
            )
        except asyncio.CancelledError:
            if job_id in self._cancelled:
                self._finisher.settle(1)
                return
            raise
        except Exception as exc:
            if not (self._cancelled and job_id in self._cancelled):
                await self._fail(job, lease, exc)
            self._finisher.settle(1)
            return
        if self._cancelled and job_id in self._cancelled:
            self._finisher.settle(1)
            return
        self._finisher.complete(job_id, lease, result_json, job)
        if debug:
            logger.debug(
                "job completed",
                extra={
                    "action": "job_completed",
                    "queue": job.queue,
                    "job_id": job.id,
                    "duration_ms": round((time.monotonic() - started) * 1000, 3),
                },
            )

    async def _fail(self, job: Job, lease: uuid.UUID, exc: BaseException) -> None:
        final = isinstance(exc, UnrecoverableError) or job.attempts_made >= job.max_attempts
        retry_in = (
            None if final else backoff_delay_ms(job.opts.get("backoff", {}), job.attempts_made)
        )
        reason = str(exc) or type(exc).__name__
        stack = "".join(traceback.format_exception(exc))
        delay = 0.05
        while True:
            try:
                row = await self._store.run(ops.fail(int(job.id), lease, reason, stack, retry_in))
                break
            except Exception:
                # Giving up would leave the job active under a live worker, which no
                # rescue reclaims; keep the slot and try again until the database answers.
                logger.exception(
                    "recording a failure failed; retrying",
                    extra={"action": "fail_write_retry", "job_id": job.id},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        logger.info(
            "job failed" if final else "job will retry",
            extra={
                "action": "job_failed" if final else "job_retry",
                "queue": job.queue,
                "job_id": job.id,
                "reason": reason,
                "attempt": job.attempts_made,
            },
        )
        if row is not None and retry_in is not None:
            self.wake(int(time.time() * 1000) + retry_in)
