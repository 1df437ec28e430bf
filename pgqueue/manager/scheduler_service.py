"""The scheduler process's door to the database: read the schedules, fire a slot.

A scheduler holds one small pool, opened here. Firing a slot is one unit of work: the
slot is claimed on the schedule's row and its job added in the same transaction, so a
slot lost to another scheduler adds nothing, and a slot won always adds its job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from pgqueue.config import Settings
from pgqueue.manager import schedules
from pgqueue.models import Job
from pgqueue.store import ops, schedule_ops
from pgqueue.store.aio import AsyncStore, open_store
from pgqueue.store.ops import Row

__all__ = ["Fired", "Row", "SchedulerService"]

POOL_SIZE = 4


@dataclass(frozen=True)
class Fired:
    """A slot this scheduler won, and the job it added for it."""

    slot: datetime
    job: Job


class SchedulerService:
    """Bound to one store; `open` gives a scheduler its own."""

    def __init__(self, store: AsyncStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    @classmethod
    async def open(cls, database_url: str, settings: Settings) -> Self:
        store = await open_store(
            database_url,
            settings,
            max_size=POOL_SIZE,
            open_timeout=settings.connect_timeout,
            name="pgqueue-scheduler",
        )
        return cls(store, settings)

    async def close(self) -> None:
        await self._store.close()

    async def list_schedules(self) -> list[Row]:
        """Every schedule row, exhausted ones included (the scheduler unloads those)."""
        return await self._store.run(schedule_ops.list_schedules())

    async def fire(
        self,
        key: str,
        slot: datetime,
        cron_expr: str | None,
        every_ms: int | None,
        tz: str,
        *,
        latest_due: Callable[[datetime], datetime],
    ) -> Fired | None:
        """Claim a slot of schedule `key` and add its job, in one transaction; None when
        the claim is lost (fired elsewhere, removed, changed or done).

        `latest_due(slot)` picks the slot to claim once a connection is held: a fire that
        waited out an outage claims the newest slot due by then, not its own."""
        async with self._store.transaction() as unit:
            slot = latest_due(slot)
            row = await unit.run(schedule_ops.claim_slot(key, slot, cron_expr, every_ms, tz))
            if row is None:
                return None
            spec = schedules.fire_spec(self._settings, row, slot)
            job = (await unit.run(ops.enqueue(row["queue"], [spec])))[0]
        return Fired(slot, job)
