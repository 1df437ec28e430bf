"""Producing jobs: options, de-duplication, bulk, and the guide's helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pgqueue import (
    CleanupJobType,
    EmailJobType,
    JobPriority,
    JobQueueManager,
    JobState,
    QueueName,
    ReportJobType,
    SyncJobQueueManager,
)


async def test_add_job_stores_data_and_default_options(manager: JobQueueManager) -> None:
    job = await manager.add_job(QueueName.EMAIL, "welcome", {"to": "a@example.com"})
    assert job.id.isdigit()
    assert job.state is JobState.WAITING
    assert job.max_attempts == 3
    assert job.opts["backoff"] == {"type": "exponential", "delay": 2000}
    assert job.opts["remove_on_complete"] == 100
    assert job.opts["remove_on_fail"] == 500
    stored = await manager.get_job("email", job.id)
    assert stored is not None
    assert stored.data == {"to": "a@example.com"}
    assert stored.timestamp is not None and job.timestamp is not None
    assert stored.timestamp == job.timestamp


async def test_queue_default_priority_follows_the_guide(manager: JobQueueManager) -> None:
    pipeline = await manager.add_job("pipeline", "run", {})
    cleanup = await manager.add_job("cleanup", "run", {})
    custom = await manager.add_job("my-own-queue", "run", {})
    assert pipeline.priority == JobPriority.HIGH
    assert cleanup.priority == JobPriority.LOW
    assert custom.priority == JobPriority.NORMAL


async def test_job_id_deduplicates(manager: JobQueueManager) -> None:
    first = await manager.add_job("email", "welcome", {"n": 1}, job_id="user-42-welcome")
    second = await manager.add_job("email", "welcome", {"n": 2}, job_id="user-42-welcome")
    assert second.id == first.id
    assert second.data == {"n": 1}
    assert (await manager.get_queue_stats("email"))["waiting"] == 1
    # The caller's key finds the job as well as its id.
    by_key = await manager.get_job("email", "user-42-welcome")
    assert by_key is not None and by_key.id == first.id
    # The same key in another queue is another job.
    other = await manager.add_job("report", "welcome", {"n": 3}, job_id="user-42-welcome")
    assert other.id != first.id


async def test_add_bulk_keeps_order_and_dedups(manager: JobQueueManager) -> None:
    existing = await manager.add_job("test", "k", {"v": "old"}, job_id="k1")
    jobs = await manager.add_bulk(
        "test",
        [
            {"name": "a", "data": {"i": 0}},
            {"name": "k", "data": {"v": "new"}, "opts": {"job_id": "k1"}},
            {"name": "b", "data": {"i": 2}, "opts": {"priority": 1, "delay": 60_000}},
            {"name": "c"},
        ],
    )
    assert [j.name for j in jobs] == ["a", "k", "b", "c"]
    assert jobs[1].id == existing.id and jobs[1].data == {"v": "old"}
    assert jobs[2].state is JobState.DELAYED and jobs[2].priority == 1
    assert jobs[3].data == {}
    stats = await manager.get_queue_stats("test")
    assert stats["waiting"] == 3 and stats["delayed"] == 1
    assert await manager.add_bulk("test", []) == []


async def test_delayed_and_scheduled_jobs_are_delayed(manager: JobQueueManager) -> None:
    delayed = await manager.add_delayed_job("email", "welcome", {}, 3_600_000)
    at = datetime.now(UTC) + timedelta(hours=2)
    scheduled = await manager.add_scheduled_job("email", "alert", {}, at)
    assert delayed.state is JobState.DELAYED
    assert scheduled.state is JobState.DELAYED
    assert scheduled.run_at == at
    assert delayed.run_at is not None and delayed.created_at is not None
    assert delayed.run_at - delayed.created_at == timedelta(hours=1)
    assert (await manager.get_queue_stats("email"))["delayed"] == 2


async def test_helpers_use_the_guide_queues(manager: JobQueueManager) -> None:
    email = await manager.add_email_job(EmailJobType.ALERT, {"to": "x@y.z"}, JobPriority.CRITICAL)
    report = await manager.add_report_job(ReportJobType.ANALYTICS, {"startDate": "2025-01-01"})
    cleanup = await manager.add_cleanup_job(CleanupJobType.TEMP_FILES)
    assert (email.queue, email.name, email.priority) == ("email", "alert", 1)
    assert (report.queue, report.name) == ("report", "analytics")
    assert (cleanup.queue, cleanup.name, cleanup.priority) == ("cleanup", "temp-files", 4)


def test_sync_manager_is_a_twin(sync_manager: SyncJobQueueManager) -> None:
    job = sync_manager.add_job("email", "welcome", {"to": "a@b.c"}, attempts=5)
    assert job.max_attempts == 5
    again = sync_manager.get_job("email", job.id)
    assert again is not None and again.data == {"to": "a@b.c"}
    bulk = sync_manager.add_bulk("email", [{"name": "x"}, {"name": "y"}])
    assert len(bulk) == 2
    assert sync_manager.get_queue_stats("email")["waiting"] == 3
    assert set(sync_manager.get_all_queue_stats()) >= {q.value for q in QueueName}
    assert [j.id for j in sync_manager.search_jobs("email", job.id)] == [job.id]
    later = sync_manager.add_delayed_job("email", "later", {}, 60_000)
    assert sync_manager.promote_delayed_jobs("email") == 1
    promoted = sync_manager.get_job("email", later.id)
    assert promoted is not None and promoted.state is JobState.WAITING
    assert sync_manager.retry_failed_jobs("email") == 0


async def test_all_queue_stats_lists_the_eight_and_users_queues(manager: JobQueueManager) -> None:
    await manager.add_job("billing", "charge", {})
    stats = await manager.get_all_queue_stats()
    assert list(stats)[:8] == [q.value for q in QueueName]
    assert stats["billing"]["waiting"] == 1
    assert stats["email"] == dict.fromkeys(
        (
            "waiting",
            "active",
            "completed",
            "failed",
            "delayed",
            "paused",
            "cancelled",
            "waiting-children",
        ),
        0,
    )


@pytest.mark.parametrize(
    ("retention", "expected"),
    [
        (True, True),
        (False, False),
        (10, 10),
        ({"age": 3600, "count": 5}, {"age": 3600, "count": 5}),
    ],
)
async def test_retention_options_accepted(
    manager: JobQueueManager, retention: object, expected: object
) -> None:
    job = await manager.add_job(
        "email",
        "x",
        {},
        remove_on_complete=retention,  # type: ignore[arg-type]
        remove_on_fail=retention,  # type: ignore[arg-type]
    )
    assert job.opts["remove_on_complete"] == expected
    assert job.opts["remove_on_fail"] == expected
