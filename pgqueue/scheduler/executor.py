"""An APScheduler executor that tells each fire which slot it is for.

APScheduler's own executors call the job function without its scheduled run time, and
a fire that starts late cannot tell that time from the clock. Without it, a slot could
not be named, and naming the slot is what lets N schedulers agree on one job per slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.base import BaseExecutor

logger = logging.getLogger(__name__)

Fire = Callable[..., Coroutine[Any, Any, None]]


class SlotExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs `await job.func(*job.args, slot=slot)` on the scheduler's event loop (add the
    job with `kwargs={"slot": None}`: APScheduler checks every argument is given), once per
    submission, for the latest of the slots due (the scheduler coalesces), unless that
    slot is older than the job's `misfire_grace_time`."""

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop: asyncio.AbstractEventLoop = scheduler._eventloop
        self._tasks: set[asyncio.Task[None]] = set()

    def shutdown(self, wait: bool = True) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        slot = run_times[-1]
        late = datetime.now(UTC) - slot
        if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
            logger.warning(
                "slot missed by more than the grace time",
                extra={"action": "schedule_slot_missed", "schedule": job.id, "slot": slot},
            )
            self._run_job_success(job.id, [])
            return
        fire: Fire = job.func
        task: asyncio.Task[None] = self._loop.create_task(
            fire(*job.args, **{**job.kwargs, "slot": slot})
        )
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                self._run_job_success(job.id, [])
                return
            error = finished.exception()
            if error is None:
                self._run_job_success(job.id, [])
            else:
                self._run_job_error(job.id, error, error.__traceback__)

        task.add_done_callback(done)
