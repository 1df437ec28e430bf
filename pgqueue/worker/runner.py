"""A worker process: queue pools plus the loops that keep them honest.

Beside the pools it runs a LISTEN connection (wakes pools when jobs are added; hears of
cancelled jobs and changed queue limits, see `control.py`), a
heartbeat (renews the leases of every job this worker holds, in one statement) and a
maintenance pass (rescues jobs of dead workers, applies retention) that only one worker
in the whole fleet runs at a time, under an advisory lock.

Shutdown: stop claiming, let running jobs finish within the grace period, put back the
rest (their attempt is given back), write outstanding completions, leave.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from pgqueue.config import Settings
from pgqueue.db.availability import is_unavailable
from pgqueue.db.connect import session_url
from pgqueue.manager import worker_service
from pgqueue.manager.worker_service import (
    PRUNE_BATCH,
    ControlNotice,
    Maintained,
    WorkerService,
)
from pgqueue.registry import Registry
from pgqueue.worker.control import Control
from pgqueue.worker.finisher import Finisher
from pgqueue.worker.pool import QueuePool

logger = logging.getLogger(__name__)

LOOP_STOP_SECONDS = 5.0
UNRECORDED_PER_SLOT = 2
"""A worker holds at most this many claimed-but-unrecorded jobs per slot (backpressure)."""


class Worker:
    def __init__(
        self,
        database_url: str,
        queues: dict[str, int],
        registry: Registry,
        settings: Settings | None = None,
    ) -> None:
        if not queues:
            raise ValueError("a worker needs at least one queue")
        self.database_url = database_url
        self.queues = queues
        self.registry = registry
        self.settings = settings or Settings.from_env()
        self.id = uuid.uuid4()
        self.pools: dict[str, QueuePool] = {}
        self._hard_stop = asyncio.Event()
        self._stopping = asyncio.Event()
        self._connected_since: float | None = None
        """Monotonic time since which this worker's heartbeats have reached the database."""
        self._last_beat: float | None = None
        self.ready = asyncio.Event()

    def stop_now(self) -> None:
        """A second signal: do not wait for running jobs."""
        self._hard_stop.set()

    async def run(self, stop: asyncio.Event) -> None:
        settings = self.settings
        service = await WorkerService.open(self.database_url, settings, queues=len(self.queues))
        # The hot path runs on the service's store directly (the one exception to the
        # layers); everything else below goes through the service.
        store = service.store
        finisher = Finisher(store, limit=UNRECORDED_PER_SLOT * sum(self.queues.values()))
        executor = ThreadPoolExecutor(
            max_workers=max(sum(self.queues.values()), 1), thread_name_prefix="pgqueue-job"
        )
        await service.register(self.id, list(self.queues))
        self._beat()
        finisher.start()
        for queue, concurrency in self.queues.items():
            self.pools[queue] = QueuePool(
                queue,
                concurrency,
                store=store,
                registry=self.registry,
                finisher=finisher,
                executor=executor,
                worker_id=self.id,
                poll_interval=settings.poll_interval,
                database_url=self.database_url,
                settings=settings,
            )
        self._control = Control(self.pools, service)
        await self._control.refresh_limits()
        for each in self.pools.values():
            each.start()
        self._listener = asyncio.create_task(self._listen(), name="pgqueue-listen")
        loops = [
            self._listener,
            asyncio.create_task(self._heartbeat(service), name="pgqueue-heartbeat"),
            asyncio.create_task(self._maintain(service), name="pgqueue-maintenance"),
        ]
        logger.info(
            "worker started",
            extra={"action": "worker_started", "worker_id": str(self.id), "queues": self.queues},
        )
        self.ready.set()
        try:
            await stop.wait()
        finally:
            await self._shutdown(service, finisher, loops)
            await service.close()
            executor.shutdown(wait=False, cancel_futures=True)

    async def _shutdown(
        self, service: WorkerService, finisher: Finisher, loops: list[asyncio.Task[None]]
    ) -> None:
        for p in self.pools.values():
            await p.stop_claiming()
        running = {t: item for p in self.pools.values() for t, item in p.running.items()}
        logger.info("worker stopping", extra={"action": "worker_stopping", "running": len(running)})
        if running and not self._hard_stop.is_set():
            # Until every running job is done, the grace period ends, or a second signal.
            finished = asyncio.ensure_future(asyncio.wait(running))
            hard = asyncio.ensure_future(self._hard_stop.wait())
            await asyncio.wait(
                {finished, hard},
                timeout=self.settings.shutdown_grace,
                return_when=asyncio.FIRST_COMPLETED,
            )
            finished.cancel()
            hard.cancel()
        unfinished = [item for t, item in running.items() if not t.done()]
        for task in running:
            task.cancel()
        await finisher.stop()
        for p in self.pools.values():
            with suppress(Exception):
                await p.release_lost_claims()
        if unfinished:
            with suppress(Exception):
                released = await service.release(unfinished)
                logger.info(
                    "unfinished jobs put back",
                    extra={"action": "jobs_released", "jobs": len(released)},
                )
        # Heartbeat and maintenance finish what they are doing (a maintenance pass is a
        # transaction, better not cut mid-statement); the listener waits on the socket and
        # is cancelled. Either way shutdown is bounded.
        self._stopping.set()
        self._listener.cancel()
        _, stuck = await asyncio.wait(loops, timeout=LOOP_STOP_SECONDS)
        for task in stuck:
            task.cancel()
        if stuck:
            await asyncio.wait(stuck, timeout=LOOP_STOP_SECONDS)
        with suppress(Exception):
            await service.unregister(self.id)
        logger.info("worker stopped", extra={"action": "worker_stopped", "worker_id": str(self.id)})

    async def _listen(self) -> None:
        """Wake pools on NOTIFY. A lost connection is re-opened; meanwhile the pools
        poll, and after reconnecting every pool claims once in case it missed a job.
        Behind a transaction pooler with no direct URL there is no LISTEN: pools poll."""
        url = session_url(self.database_url, self.settings)
        if url is None:
            logger.info(
                "no direct connection for LISTEN; polling",
                extra={"action": "listen_off", "poll_interval": self.settings.poll_interval},
            )
            return
        delay = 0.1
        while True:
            try:
                async with worker_service.listen(url) as notices:
                    delay = 0.1
                    for each in self.pools.values():
                        each.wake()
                    async for notice in notices:
                        if isinstance(notice, ControlNotice):
                            self._control.handle(notice.payload)
                            continue
                        target = self.pools.get(notice.queue)
                        if target is not None:
                            target.wake(notice.at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    f"LISTEN connection lost ({type(exc).__name__}); reconnecting",
                    extra={"action": "listen_reconnect"},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _pause(self, seconds: float) -> bool:
        """Sleep, but wake for shutdown; True when the worker is stopping."""
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # not wait_for: see QueuePool._fetch_loop
                await self._stopping.wait()
        return self._stopping.is_set()

    async def _heartbeat(self, service: WorkerService) -> None:
        while not await self._pause(self.settings.heartbeat_seconds):
            try:
                alive = await service.heartbeat(self.id)
                self._beat()
                if not alive:
                    # Declared dead (e.g. paused past the lease): our jobs were rescued and
                    # our late writes are refused by their lease. Rejoin as a live worker.
                    logger.warning(
                        "worker was declared dead; rejoining", extra={"action": "worker_rejoined"}
                    )
                    await service.register(self.id, list(self.queues))
                await self._control.refresh_limits()
                await self._control.check_running()
            except Exception as exc:
                log_failure("heartbeat failed", "heartbeat_failed", exc)

    async def _maintain(self, service: WorkerService) -> None:
        """A pass every few seconds; while retention has more than a batch to delete,
        the next pass follows at once. Each pass is a short transaction of its own, so
        retention keeps up with any drain rate without holding a snapshot for long."""
        interval = max(min(self.settings.lease_seconds / 3, 10.0), 0.2)
        behind = False
        while not await self._pause(0 if behind else interval):
            try:
                done = await self.maintenance_pass(service)
                behind = done.pruned >= PRUNE_BATCH
                if done.ran and await service.vacuum_if_due():
                    logger.info("jobs table vacuumed", extra={"action": "jobs_vacuumed"})
            except Exception as exc:
                behind = False
                log_failure("maintenance failed", "maintenance_failed", exc)

    def _beat(self) -> None:
        """A heartbeat got through. One after a long silence (an outage: the statement
        waited for a connection, or failed) starts a new run of beats."""
        now = time.monotonic()
        gap = max(self.settings.lease_seconds / 2, 2 * self.settings.heartbeat_seconds)
        if self._last_beat is None or now - self._last_beat > gap:
            self._connected_since = now
        self._last_beat = now

    def _may_rescue(self) -> bool:
        """Declare other workers dead only while this one's own heartbeats have been
        getting through, without a long gap, for a whole lease. After an outage every
        worker's heartbeat is old, the living's too: rescuing then would run their jobs
        twice. A lease after reconnecting, every living worker has beaten again."""
        if self._last_beat is None or self._connected_since is None:
            return False
        now = time.monotonic()
        gap = max(self.settings.lease_seconds / 2, 2 * self.settings.heartbeat_seconds)
        return (
            now - self._last_beat <= gap
            and now - self._connected_since >= self.settings.lease_seconds
        )

    async def maintenance_pass(self, service: WorkerService) -> Maintained:
        """One pass, logged."""
        done = await service.maintenance_pass(
            lease_seconds=self.settings.lease_seconds,
            may_rescue=self._may_rescue,
            prune_batch=PRUNE_BATCH,
        )
        if done.rescued:
            logger.warning(
                "jobs rescued from dead workers",
                extra={"action": "jobs_rescued", "jobs": done.rescued},
            )
        if done.pruned:
            logger.debug(
                "finished jobs pruned", extra={"action": "jobs_pruned", "jobs": done.pruned}
            )
        return done


def log_failure(message: str, action: str, exc: Exception) -> None:
    """A lost database is one line (it is expected, and retried); anything else is a bug
    worth its traceback."""
    if is_unavailable(exc):
        logger.warning(f"{message}: {exc}", extra={"action": action})
    else:
        logger.exception(message, extra={"action": action})
