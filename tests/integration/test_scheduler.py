"""Repeating jobs: the managers' schedule API and an in-process scheduler, on real Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from pgqueue import (
    InvalidJobError,
    Job,
    JobNotFoundError,
    JobQueueManager,
    QueueName,
    ReportJobType,
    SyncJobQueueManager,
)
from pgqueue.config import Settings
from pgqueue.scheduler import Scheduler
from tests.helpers import wait_for

QUEUE = "cron"
EVERY_SECOND = "* * * * * *"

StartScheduler = Callable[..., Any]


@pytest.fixture
def start_scheduler(db_url: str, settings: Settings) -> StartScheduler:
    """`async with start_scheduler() as scheduler:` runs a scheduler in this event loop."""

    @asynccontextmanager
    async def start(**kwargs: Any) -> AsyncIterator[Scheduler]:
        scheduler = Scheduler(db_url, settings, poll_interval=0.2, **kwargs)
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        ready = asyncio.create_task(scheduler.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        try:
            yield scheduler
        finally:
            stop.set()
            await task

    return start


def schedule_row(db_url: str, key: str) -> dict[str, Any]:
    with psycopg.connect(db_url) as conn:
        cur = conn.execute("SELECT * FROM pgqueue_schedules WHERE key = %s", [key])
        names = [c.name for c in cur.description or []]
        row = cur.fetchone()
        assert row is not None
        return dict(zip(names, row, strict=True))


def backdate(db_url: str, key: str, seconds: int) -> None:
    """As if no scheduler had run for `seconds`."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE pgqueue_schedules SET fired_through = now() - %s * interval '1 second'"
            " WHERE key = %s",
            [seconds, key],
        )


async def fired(manager: JobQueueManager, key: str) -> list[Job]:
    """Jobs a schedule added, oldest slot first."""
    jobs = await manager.get_jobs(QUEUE, "waiting")
    mine = [j for j in jobs if (j.key or "").startswith(f"repeat:{key}:")]
    return sorted(mine, key=lambda j: j.run_at or datetime.min)


def slot_ms(job: Job) -> int:
    assert job.run_at is not None and job.key is not None
    ms = int(job.run_at.timestamp() * 1000)
    assert job.key.endswith(f":{ms}")
    return ms


# --- the API ---------------------------------------------------------------------------


async def test_adding_the_same_repeating_job_again_updates_it(
    manager: JobQueueManager, db_url: str
) -> None:
    key = await manager.add_repeating_job(QUEUE, "report", {"v": 1}, "0 9 * * 1")
    assert await manager.add_repeating_job(QUEUE, "report", {"v": 1}, "0 9 * * 1") == key
    assert schedule_row(db_url, key)["version"] == 1  # nothing changed, nothing written

    assert await manager.add_repeating_job(QUEUE, "report", {"v": 2}, "0  9 * * 1") == key
    assert schedule_row(db_url, key)["version"] == 2
    [schedule] = await manager.get_repeating_jobs()
    assert schedule["data"] == {"v": 2}

    other_tz = await manager.add_repeating_job(QUEUE, "report", {}, "0 9 * * 1", tz="Europe/Paris")
    other_cron = await manager.add_repeating_job(QUEUE, "report", {}, "0 10 * * 1")
    assert len({key, other_tz, other_cron}) == 3
    assert len(await manager.get_repeating_jobs()) == 3


async def test_a_callers_key_names_the_schedule(manager: JobQueueManager) -> None:
    key = await manager.add_repeating_job(QUEUE, "sync", {}, "*/5 * * * *", key="sync-crm")
    assert key == "sync-crm"
    assert await manager.add_repeating_job(QUEUE, "sync", {}, "*/10 * * * *", key="sync-crm") == key
    [schedule] = await manager.get_repeating_jobs()
    assert schedule["cron"] == "*/10 * * * *"


async def test_listing_shows_the_next_run_in_the_schedules_time_zone(
    manager: JobQueueManager,
) -> None:
    await manager.add_repeating_job(
        QUEUE, "digest", {}, "0 9 * * *", tz="Asia/Tokyo", attempts=5, priority=1
    )
    [schedule] = await manager.get_repeating_jobs()
    assert schedule["queue"] == QUEUE and schedule["name"] == "digest"
    assert schedule["cron"] == "0 9 * * *" and schedule["tz"] == "Asia/Tokyo"
    next_run = schedule["next_run"].astimezone(UTC)
    assert (next_run.hour, next_run.minute) == (0, 0)  # 09:00 in Tokyo
    assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(days=1)
    assert schedule["opts"] == {"attempts": 5, "priority": 1}
    assert schedule["count"] == 0 and schedule["last_run"] is None


async def test_removing_a_repeating_job(manager: JobQueueManager) -> None:
    key = await manager.add_repeating_job(QUEUE, "report", {}, "0 9 * * 1")
    await manager.remove_repeating_job(key)
    assert await manager.get_repeating_jobs() == []
    with pytest.raises(JobNotFoundError):
        await manager.remove_repeating_job(key)


@pytest.mark.parametrize(
    ("cron", "kwargs"),
    [
        ("61 * * * *", {}),
        ("* * * *", {}),
        ("0 9 * * *", {"tz": "Mars/Olympus_Mons"}),
        ("0 9 * * *", {"tz": ""}),
        (None, {}),
        ("0 9 * * *", {"every": 1000}),
        (None, {"every": 0}),
        ("0 9 * * *", {"limit": 0}),
        ("0 9 * * *", {"start_date": "tomorrow"}),
        ("0 9 * * *", {"start_date": datetime(2030, 1, 2), "end_date": datetime(2030, 1, 1)}),
        ("0 9 * * *", {"attempts": 0}),
        ("0 9 * * *", {"delay": 1000}),
        ("0 9 * * *", {"job_id": "fixed"}),
        ("0 9 * * *", {"colour": "blue"}),
        ("0 9 * * *", {"key": ""}),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    manager: JobQueueManager, cron: str | None, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidJobError):
        await manager.add_repeating_job(QUEUE, "report", {}, cron, **kwargs)
    assert await manager.get_repeating_jobs() == []


async def test_unserialisable_data_is_refused(manager: JobQueueManager) -> None:
    with pytest.raises(InvalidJobError):
        await manager.add_repeating_job(QUEUE, "report", {"at": object()}, "0 9 * * *")
    assert await manager.get_repeating_jobs() == []


async def test_daily_cleanup_registers_the_guides_four_jobs_once(
    manager: JobQueueManager, db_url: str
) -> None:
    keys = await manager.schedule_daily_cleanup()
    assert await manager.schedule_daily_cleanup() == keys
    schedules = {s["name"]: s for s in await manager.get_repeating_jobs()}
    assert {name: (s["queue"], s["cron"]) for name, s in schedules.items()} == {
        "expired-tokens": ("cleanup", "0 2 * * *"),
        "old-logs": ("cleanup", "0 3 * * *"),
        "temp-files": ("cleanup", "0 4 * * *"),
        "old-artifacts": ("cleanup", "0 4 * * 0"),
    }
    assert {schedule_row(db_url, k)["version"] for k in keys} == {1}
    assert schedules["old-artifacts"]["next_run"].weekday() == 6  # Sunday


def test_sync_manager_is_the_same_api(sync_manager: SyncJobQueueManager) -> None:
    key = sync_manager.add_repeating_job(QUEUE, "report", {}, None, every=60_000, limit=3)
    assert sync_manager.add_repeating_job(QUEUE, "report", {}, None, every=60_000, limit=3) == key
    [schedule] = sync_manager.get_repeating_jobs()
    assert (schedule["every"], schedule["limit"], schedule["cron"]) == (60_000, 3, None)
    assert sync_manager.schedule_daily_cleanup() == sync_manager.schedule_daily_cleanup()
    sync_manager.remove_repeating_job(key)
    with pytest.raises(JobNotFoundError):
        sync_manager.remove_repeating_job(key)
    with pytest.raises(InvalidJobError):
        sync_manager.add_repeating_job(QUEUE, "report", {}, "0 0 * * 9")


# --- firing ----------------------------------------------------------------------------


async def test_scheduler_adds_one_job_per_slot_at_the_slots_time(
    manager: JobQueueManager, start_scheduler: StartScheduler
) -> None:
    async with start_scheduler():
        # Added while the scheduler runs: it picks the schedule up without a restart.
        key = await manager.add_repeating_job(QUEUE, "tick", {"n": 1}, EVERY_SECOND, attempts=7)
        jobs = await wait_for(lambda: _at_least(manager, key, 3))
    slots = [slot_ms(j) for j in jobs]
    assert all(ms % 1000 == 0 for ms in slots)
    assert slots == list(range(slots[0], slots[0] + 1000 * len(slots), 1000))
    assert jobs[0].data == {"n": 1} and jobs[0].max_attempts == 7 and jobs[0].name == "tick"
    [schedule] = await manager.get_repeating_jobs()
    assert schedule["count"] == len(jobs)
    assert schedule["last_run"] == jobs[-1].run_at


async def test_every_fires_on_multiples_of_the_interval(
    manager: JobQueueManager, start_scheduler: StartScheduler
) -> None:
    key = await manager.add_repeating_job(QUEUE, "beat", {}, None, every=1500)
    async with start_scheduler():
        jobs = await wait_for(lambda: _at_least(manager, key, 2))
    slots = [slot_ms(j) for j in jobs]
    assert all(ms % 1500 == 0 for ms in slots)
    assert slots[1] - slots[0] == 1500


async def test_changes_reach_a_running_scheduler(
    manager: JobQueueManager, start_scheduler: StartScheduler
) -> None:
    key = await manager.add_repeating_job(QUEUE, "tick", {}, "0 0 1 1 *", key="tick")
    async with start_scheduler() as scheduler:
        first = scheduler.scheduled()[key]
        assert first is not None and first > datetime.now(UTC) + timedelta(days=1)
        await manager.add_repeating_job(QUEUE, "tick", {"v": 2}, EVERY_SECOND, key="tick")
        jobs = await wait_for(lambda: _at_least(manager, key, 1))
    assert jobs[0].data == {"v": 2}


async def test_removal_stops_firing(
    manager: JobQueueManager, start_scheduler: StartScheduler
) -> None:
    async with start_scheduler() as scheduler:
        key = await manager.add_repeating_job(QUEUE, "doomed", {}, EVERY_SECOND)
        await wait_for(lambda: _at_least(manager, key, 1))
        await manager.remove_repeating_job(key)
        removed_at = datetime.now(UTC)
        await wait_for(lambda: key not in scheduler.scheduled())
        # Time passes on a schedule that stays: three of its slots after the removal.
        canary = await manager.add_repeating_job(QUEUE, "canary", {}, EVERY_SECOND)
        await wait_for(lambda: _slots_after(manager, canary, removed_at, 3))
    after = [j for j in await fired(manager, key) if j.run_at and j.run_at > removed_at]
    assert after == []


async def test_limit_stops_after_that_many_jobs(
    manager: JobQueueManager, start_scheduler: StartScheduler
) -> None:
    async with start_scheduler() as scheduler:
        key = await manager.add_repeating_job(QUEUE, "twice", {}, EVERY_SECOND, limit=2)
        await wait_for(lambda: _at_least(manager, key, 2))
        await wait_for(lambda: key not in scheduler.scheduled())
        canary = await manager.add_repeating_job(QUEUE, "canary", {}, EVERY_SECOND)
        await wait_for(lambda: _at_least(manager, canary, 2))
    assert len(await fired(manager, key)) == 2
    [schedule] = [s for s in await manager.get_repeating_jobs() if s["key"] == key]
    assert schedule["next_run"] is None and schedule["count"] == 2


async def test_start_and_end_dates_bound_the_slots(
    manager: JobQueueManager, start_scheduler: StartScheduler
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    end = start + timedelta(seconds=2)
    key = await manager.add_repeating_job(
        QUEUE, "window", {}, EVERY_SECOND, start_date=start, end_date=end
    )
    [schedule] = await manager.get_repeating_jobs()
    assert schedule["next_run"] == start
    async with start_scheduler() as scheduler:
        await wait_for(lambda: _at_least(manager, key, 3))
        await wait_for(lambda: key not in scheduler.scheduled())
    assert [j.run_at for j in await fired(manager, key)] == [
        start,
        start + timedelta(seconds=1),
        end,
    ]


async def test_a_scheduler_back_from_downtime_fires_only_the_latest_missed_slot(
    manager: JobQueueManager, db_url: str, start_scheduler: StartScheduler
) -> None:
    key = await manager.add_repeating_job(QUEUE, "tick", {}, EVERY_SECOND)
    backdate(db_url, key, 30)  # thirty slots went by with no scheduler running
    # The latest missed slot is the last whole second before the scheduler looked; it
    # may start a second or more after this line, so no slot before this one may fire.
    latest_missed_at_the_earliest = datetime.now(UTC).replace(microsecond=0)
    async with start_scheduler():
        await wait_for(lambda: _at_least(manager, key, 2))
    slots = [j.run_at for j in await fired(manager, key)]
    assert all(s is not None and s >= latest_missed_at_the_earliest for s in slots), slots
    assert len(set(slots)) == len(slots)  # and none twice


async def test_a_slot_older_than_the_grace_time_is_skipped(
    manager: JobQueueManager, db_url: str, start_scheduler: StartScheduler
) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    daily = f"{two_hours_ago.minute} {two_hours_ago.hour} * * *"
    key = await manager.add_repeating_job(QUEUE, "daily", {}, daily)
    backdate(db_url, key, 3 * 86_400)
    async with start_scheduler(misfire_grace=60) as scheduler:
        next_slot = scheduler.scheduled()[key]
    # The slot two hours ago is past the 60 s grace: the scheduler waits for tomorrow's.
    assert next_slot is not None
    assert next_slot - datetime.now(UTC) > timedelta(hours=21)
    assert await fired(manager, key) == []


async def _at_least(manager: JobQueueManager, key: str, n: int) -> list[Job] | None:
    jobs = await fired(manager, key)
    return jobs if len(jobs) >= n else None


async def _slots_after(manager: JobQueueManager, key: str, moment: datetime, n: int) -> bool:
    jobs = await fired(manager, key)
    return len([j for j in jobs if j.run_at and j.run_at > moment]) >= n


async def test_the_guides_enums_name_the_queue_and_job(manager: JobQueueManager) -> None:
    key = await manager.add_repeating_job(
        QueueName.REPORT, ReportJobType.ANALYTICS, {}, "0 9 * * 1"
    )
    assert key == await manager.add_repeating_job("report", "analytics", {}, "0 9 * * 1")
    [schedule] = await manager.get_repeating_jobs()
    assert (schedule["queue"], schedule["name"]) == ("report", "analytics")
