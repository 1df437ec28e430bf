"""What a worker does on the control channel: cancel running jobs, follow limit changes.

The notifications arrive on the worker's one LISTEN connection. Which of its queues have
a limit is read at start, on every `limits` notification and at every heartbeat, and the
heartbeat also looks for cancelled jobs among those running here: a notification missed
while the connection was re-opened costs at most one heartbeat interval.
"""

from __future__ import annotations

import asyncio
import logging

from pgqueue.manager.worker_service import WorkerService
from pgqueue.worker.pool import QueuePool

logger = logging.getLogger(__name__)


class Control:
    def __init__(self, pools: dict[str, QueuePool], service: WorkerService) -> None:
        self._pools = pools
        self._service = service
        self._tasks: set[asyncio.Task[None]] = set()

    async def refresh_limits(self) -> None:
        limited = await self._service.limited_queues(list(self._pools))
        for queue, pool in self._pools.items():
            if pool.limited != (queue in limited):
                pool.limited = queue in limited
                pool.wake()

    async def check_running(self) -> None:
        """Cancel running jobs that were cancelled while no notification could arrive."""
        running = [item[0] for p in self._pools.values() for item in p.running.values()]
        if not running:
            return
        for job_id in await self._service.cancelled_among(running):
            for pool in self._pools.values():
                pool.cancel(job_id)

    def handle(self, payload: str) -> None:
        kind, _, rest = payload.partition(" ")
        if kind == "cancel":
            queue, _, job_id = rest.partition(" ")
            pool = self._pools.get(queue)
            if pool is not None and job_id.isdigit() and pool.cancel(int(job_id)):
                logger.info(
                    "running job cancelled",
                    extra={"action": "job_cancelled", "queue": queue, "job_id": job_id},
                )
        elif kind == "limits" and rest in self._pools:
            task = asyncio.create_task(self._refresh_quietly())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh_limits()
        except Exception:
            logger.exception("reading queue limits failed", extra={"action": "limits_failed"})
