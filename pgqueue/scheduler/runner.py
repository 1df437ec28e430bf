"""A scheduler process: APScheduler fires the database's schedules, SQL dedups the fires.

Each process keeps its own in-memory APScheduler job store, filled from the schedules
table and re-synced every couple of seconds (only schedules whose `version` moved are
re-read). Any number of these may run: a fire first claims its slot on the schedule's
row, in the same transaction as the job it adds, so each slot becomes exactly one job.

A schedule none of the schedulers fired (they were all down) fires once, for its latest
missed slot, when a scheduler next loads it, if that slot is within the grace time;
older slots are skipped rather than replayed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from pgqueue.config import Settings
from pgqueue.db.availability import is_unavailable
from pgqueue.errors import PgQueueError
from pgqueue.manager import cron, schedules
from pgqueue.manager.scheduler_service import Row, SchedulerService
from pgqueue.scheduler.executor import SlotExecutor

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 2.0
DEFAULT_MISFIRE_GRACE = 3600
"""Seconds: a slot later than this is skipped, not fired."""


class Scheduler:
    """Fires every schedule on its slots until `run`'s stop event is set."""

    def __init__(
        self,
        database_url: str,
        settings: Settings | None = None,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        misfire_grace: int = DEFAULT_MISFIRE_GRACE,
    ) -> None:
        self.database_url = database_url
        self.settings = settings or Settings.from_env()
        self.poll_interval = poll_interval
        self.misfire_grace = misfire_grace
        self.ready = asyncio.Event()
        self._versions: dict[str, int] = {}
        self._aps: Any = None
        self._service: SchedulerService | None = None

    def scheduled(self) -> dict[str, datetime | None]:
        """The schedules this process will fire, by key, with their next slot."""
        if self._aps is None:
            return {}
        return {job.id: job.next_run_time for job in self._aps.get_jobs()}

    async def run(self, stop: asyncio.Event) -> None:
        self._service = service = await SchedulerService.open(self.database_url, self.settings)
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            executors={"default": SlotExecutor()},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": self.misfire_grace,
                "max_instances": 3,
            },
        )
        self._aps.start()
        syncing: asyncio.Task[None] | None = None
        try:
            await self.sync()
            syncing = asyncio.create_task(self._keep_in_sync(), name="pgqueue-schedule-sync")
            logger.info(
                "scheduler started",
                extra={"action": "scheduler_started", "schedules": len(self._versions)},
            )
            self.ready.set()
            await stop.wait()
        finally:
            if syncing is not None:
                syncing.cancel()
                await asyncio.gather(syncing, return_exceptions=True)
            self._aps.shutdown(wait=False)
            await asyncio.sleep(0)  # let APScheduler's loop-side shutdown run
            await service.close()
            logger.info("scheduler stopped", extra={"action": "scheduler_stopped"})

    async def _keep_in_sync(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.sync()
            except Exception as exc:
                if not is_unavailable(exc):
                    logger.exception(
                        "schedule sync failed", extra={"action": "schedule_sync_failed"}
                    )
                else:
                    logger.warning(
                        f"schedule sync failed: {exc}", extra={"action": "schedule_sync_failed"}
                    )

    async def sync(self) -> None:
        """Load new and changed schedules, drop removed and finished ones."""
        assert self._service is not None
        rows = await self._service.list_schedules()
        now = datetime.now(UTC)
        seen: set[str] = set()
        for row in rows:
            key = row["key"]
            seen.add(key)
            if schedules.exhausted(row):
                self._unload(key)
            elif self._versions.get(key) != row["version"]:
                self._load(row, now)
        for key in set(self._versions) - seen:
            self._unload(key)

    def _load(self, row: Row, now: datetime) -> None:
        key = row["key"]
        try:
            trigger = schedules.trigger(row)
        except PgQueueError:
            logger.exception(
                "schedule cannot be loaded", extra={"action": "schedule_invalid", "schedule": key}
            )
            self._unload(key)
            return
        since = max(row["fired_through"], now - timedelta(seconds=self.misfire_grace))
        first = cron.latest_slot(trigger, since, now) or trigger.get_next_fire_time(None, now)
        self._versions[key] = row["version"]
        if first is None:
            self._drop_job(key)
            return
        self._aps.add_job(
            self._fire,
            trigger=trigger,
            args=[key, row["cron"], row["every_ms"], row["tz"]],
            kwargs={"slot": None},
            id=key,
            name=f"{row['queue']}/{row['name']}",
            replace_existing=True,
            next_run_time=first,
        )
        logger.info(
            "schedule loaded",
            extra={"action": "schedule_loaded", "schedule": key, "next_run": first.isoformat()},
        )

    def _unload(self, key: str) -> None:
        if self._versions.pop(key, None) is not None:
            self._drop_job(key)
            logger.info("schedule unloaded", extra={"action": "schedule_unloaded", "schedule": key})

    def _drop_job(self, key: str) -> None:
        if self._aps.get_job(key) is not None:
            self._aps.remove_job(key)

    def _latest_due(self, key: str, slot: datetime) -> datetime:
        """The newest slot due by now, from `slot` on. A fire that waited for the database
        (an outage) claims that one instead of its own, so the fires that queued up
        meanwhile become one job, for the latest slot, instead of a burst."""
        job = self._aps.get_job(key) if self._aps is not None else None
        if job is None:
            return slot
        return cron.latest_slot(job.trigger, slot, datetime.now(UTC)) or slot

    async def _fire(
        self, key: str, cron_expr: str | None, every_ms: int | None, tz: str, slot: datetime
    ) -> None:
        """Claim `slot` and add its job in one transaction; a lost claim adds nothing."""
        assert self._service is not None
        try:
            fired = await self._service.fire(
                key, slot, cron_expr, every_ms, tz, latest_due=lambda s: self._latest_due(key, s)
            )
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # Nothing was claimed. Forget the schedule's version: the first sync that
            # reaches the database reloads it, which fires its latest missed slot once
            # (not every slot missed meanwhile), then the slots that follow.
            self._versions.pop(key, None)
            logger.warning(
                f"slot not fired, database unavailable: {exc}",
                extra={"action": "schedule_fire_failed", "schedule": key, "slot": slot.isoformat()},
            )
            return
        if fired is None:
            return
        logger.info(
            "repeating job added",
            extra={
                "action": "schedule_fired",
                "schedule": key,
                "slot": fired.slot.isoformat(),
                "queue": fired.job.queue,
                "job_id": fired.job.id,
            },
        )


async def run_scheduler(
    database_url: str, stop: asyncio.Event, settings: Settings | None = None
) -> None:
    """Run a scheduler until `stop` is set (what `pgqueue scheduler` and `pgqueue run` do)."""
    await Scheduler(database_url, settings).run(stop)
