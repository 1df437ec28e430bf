"""A worker process's door to the database, beside its hot path.

The worker's own loops come through here: registration, the heartbeat, the control
channel's reads (queue limits, cancelled jobs), putting jobs back at shutdown, the
elected maintenance pass, and the LISTEN connection. The service opens the process's
one pool; the hot path (`worker.pool`, `worker.finisher`) runs claims and completions on
the same store, `WorkerService.store`, without going through here: that is the one
deliberate exception to the layers (docs/architecture.md).

Every method is a single statement, or one short transaction, run from the worker's
timed loops: none of them runs per job. The one long statement is the jobs table's
VACUUM, run when dead rows pile up and outside any transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Self

from pgqueue.config import Settings
from pgqueue.manager.core import MAX_WAIT_SECONDS
from pgqueue.store import chart_ops, feature_ops, notify, ops
from pgqueue.store.aio import AsyncStore, open_store

logger = logging.getLogger(__name__)

__all__ = [
    "PRUNE_BATCH",
    "ControlNotice",
    "JobsReady",
    "Maintained",
    "WorkerService",
    "listen",
]

RECONNECT_WITHIN = 2.0
PRUNE_BATCH = 5000
"""Finished jobs (and per-minute metric rows) deleted per pass at most."""
RESCUE_BATCH = 5000
FOLD_BATCH = 5000
"""Per-minute metric deltas folded per pass (about one per statement that finished jobs)."""
VACUUM_DEAD_ROWS = 50_000
VACUUM_LIVE_SHARE = 0.2
VACUUM_QUIET_SECONDS = 10
"""The jobs table is vacuumed by the worker holding maintenance once it has this many
dead rows plus a fifth of its live ones, and no vacuum has run for this long: each job
leaves about three dead row versions, and at thousands of jobs a second autovacuum,
which looks at a database only once a minute by default (`autovacuum_naptime`), falls
behind and the table grows."""
VACUUM_RETRY_SECONDS = (60.0, 3600.0)
"""After a vacuum fails (most likely the connections' 60 s statement timeout, on a table
too big to vacuum in that time), the next try waits this long, doubling up to the
second figure: a vacuum cut short and retried every pass would only add load."""
MAINTENANCE_TIMEOUT_MS = 10_000
"""No maintenance statement runs longer: each reads a bounded batch and takes well under
a second, and one that outlives its worker must not hold a core and a snapshot."""


@dataclass(frozen=True)
class Maintained:
    """What one maintenance pass did; nothing, and `ran` False, when another worker
    held the lock."""

    rescued: list[int]
    """Ids of jobs taken back from workers whose heartbeat stopped."""
    pruned: int
    """Finished jobs deleted by retention."""
    ran: bool = True
    """False when another worker held the maintenance lock."""


class FailureBackoff:
    """When a failing task may be tried again: not before a first delay after a
    failure, doubling with each further one up to a ceiling; a success resets it."""

    def __init__(self, first: float, most: float) -> None:
        self._first, self._most = first, most
        self._delay = 0.0
        self._not_before = 0.0

    def allowed(self, now: float) -> bool:
        return now >= self._not_before

    def failed(self, now: float) -> float:
        """The wait before the next try."""
        self._delay = min(max(self._delay * 2, self._first), self._most)
        self._not_before = now + self._delay
        return self._delay

    def succeeded(self) -> None:
        self._delay, self._not_before = 0.0, 0.0


@dataclass(frozen=True)
class JobsReady:
    """Jobs of `queue` became ready, or will at `at` (epoch ms; 0 for now)."""

    queue: str
    at: int


@dataclass(frozen=True)
class ControlNotice:
    """A control message for workers: `cancel <queue> <id>` or `limits <queue>`."""

    payload: str


class WorkerService:
    """Bound to one store; `open` gives a worker process its pool."""

    def __init__(self, store: AsyncStore) -> None:
        self.store = store
        """The hot path's store: the queue pools and the finisher run on it directly."""
        self._vacuum = FailureBackoff(*VACUUM_RETRY_SECONDS)

    @classmethod
    async def open(cls, database_url: str, settings: Settings, *, queues: int) -> Self:
        """The pool is sized for `queues` queue pools plus the worker's own loops."""
        # No connection check on borrow: every statement of the hot path survives a
        # dropped connection on its own (claims are released, writes retried).
        store = await open_store(
            database_url,
            settings,
            min_size=2,
            max_size=4 + queues,
            check=False,
            open_timeout=settings.connect_timeout,
            # After an outage the pool's background reconnects back off exponentially;
            # short limits make it give up and reconnect on the next statement instead,
            # so a worker is back within seconds of the server and its heartbeat with it.
            borrow_timeout=RECONNECT_WITHIN,
            reconnect_timeout=RECONNECT_WITHIN,
            name="pgqueue-worker",
            # Plans that outlast a quiet start (see `pgqueue.db.connect`).
            hot_path=True,
        )
        return cls(store)

    async def close(self) -> None:
        await self.store.close()

    async def register(self, worker_id: uuid.UUID, queues: Sequence[str]) -> None:
        """Join (or rejoin) the live workers, as this host and process."""
        await self.store.run(
            ops.register_worker(worker_id, socket.gethostname(), os.getpid(), list(queues))
        )

    async def heartbeat(self, worker_id: uuid.UUID) -> bool:
        """Renew the worker and the leases of every job it holds; False when it had been
        declared dead meanwhile (its jobs were rescued)."""
        return await self.store.run(ops.heartbeat(worker_id))

    async def unregister(self, worker_id: uuid.UUID) -> None:
        await self.store.run(ops.unregister_worker(worker_id))

    async def release(self, items: Sequence[tuple[int, uuid.UUID]]) -> set[int]:
        """Put back jobs claimed under these (id, lease) pairs, giving back their attempt."""
        return await self.store.run(ops.release(items))

    async def limited_queues(self, queues: list[str]) -> set[str]:
        """Those of `queues` with a rate limit or a global concurrency."""
        return await self.store.run(feature_ops.limited_queues(queues))

    async def cancelled_among(self, job_ids: list[int]) -> set[int]:
        return await self.store.run(feature_ops.cancelled_among(job_ids))

    async def maintenance_pass(
        self,
        *,
        lease_seconds: float,
        may_rescue: Callable[[], bool],
        prune_batch: int = PRUNE_BATCH,
    ) -> Maintained:
        """One pass in one short transaction, if this worker wins the fleet's advisory
        lock: rescue, retention, per-minute metrics, stale `wait_for_job` registrations.

        `may_rescue()` is asked once a connection is held: the pass may have waited out
        an outage, after which declaring other workers dead could run their jobs twice."""
        async with self.store.transaction() as unit:
            if not await unit.run(ops.try_maintenance_lock()):
                return Maintained([], 0, ran=False)
            await unit.run(ops.set_maintenance_timeout(MAINTENANCE_TIMEOUT_MS))
            rescued = (
                await unit.run(ops.rescue(lease_seconds, RESCUE_BATCH)) if may_rescue() else []
            )
            pruned = await unit.run(ops.prune_finished(prune_batch))
            await unit.run(chart_ops.fold_minutes(FOLD_BATCH))
            await unit.run(chart_ops.prune_minute_metrics(prune_batch))
            await unit.run(ops.prune_waiters(MAX_WAIT_SECONDS, prune_batch))
        return Maintained([r["id"] for r in rescued], pruned)

    async def vacuum_if_due(self) -> bool:
        """VACUUM the jobs table when dead rows pile up faster than autovacuum comes by
        (`VACUUM_DEAD_ROWS`); True when it ran. `SKIP_LOCKED`: a vacuum already running,
        autovacuum's or another worker's, is left to finish its work. One that fails is
        logged and not tried again for a while (`VACUUM_RETRY_SECONDS`)."""
        if not self._vacuum.allowed(time.monotonic()):
            return False
        due = ops.vacuum_due(VACUUM_DEAD_ROWS, VACUUM_LIVE_SHARE, VACUUM_QUIET_SECONDS)
        if not await self.store.run(due):
            return False
        try:
            await self.store.run(ops.vacuum_jobs())
        except Exception as exc:
            wait = self._vacuum.failed(time.monotonic())
            logger.warning(
                f"vacuuming the jobs table failed; next try in {wait:.0f} s, and autovacuum"
                f" goes on (lower autovacuum_naptime if the table grows): {exc}",
                extra={"action": "jobs_vacuum_failed", "retry_seconds": wait},
            )
            return False
        self._vacuum.succeeded()
        return True


@asynccontextmanager
async def listen(url: str) -> AsyncIterator[AsyncIterator[JobsReady | ControlNotice]]:
    """`async with listen(url) as notices:` is listening on the jobs and the control
    channel once entered; `notices` yields until the connection is lost. `url` must be
    a direct connection (a session of its own), never a transaction pooler."""
    channels = (notify.CHANNEL, notify.CONTROL_CHANNEL)
    async with notify.listen(url, channels) as raw:

        async def notices() -> AsyncIterator[JobsReady | ControlNotice]:
            async for channel, payload in raw:
                if channel == notify.CONTROL_CHANNEL:
                    yield ControlNotice(payload)
                else:
                    yield JobsReady(*notify.job_ready(payload))

        yield notices()
