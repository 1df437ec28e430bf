"""Administering jobs: retry, promote, remove, clean, listing by state."""

from __future__ import annotations

import psycopg
import pytest

from pgqueue import JobNotFoundError, JobQueueManager, JobState, JobStateError
from pgqueue.registry import Registry
from tests.helpers import RunWorker, fail_one, job_in, wait_for


async def test_retry_failed_job_runs_it_again(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    job_id = await fail_one(manager, run_worker)
    failed = await manager.get_failed_jobs("email", 0, 10)
    assert [(j.id, j.failed_reason, j.attempts_made) for j in failed] == [
        (job_id, "SMTP connection timeout", 1)
    ]
    assert await manager.retry_job("email", job_id) == job_id
    retried = await manager.get_job("email", job_id)
    assert retried is not None and retried.state is JobState.WAITING
    assert retried.attempts_made == 0 and retried.failed_reason is None
    registry = Registry()
    registry.add("email", "*", lambda job: "sent")
    async with run_worker(registry, {"email": 1}):
        await wait_for(lambda: job_in(manager, "email", job_id, JobState.COMPLETED))
    with pytest.raises(JobStateError, match="is completed; only failed"):
        await manager.retry_job("email", job_id)
    with pytest.raises(JobNotFoundError):
        await manager.retry_job("email", "999999")
    with pytest.raises(JobNotFoundError):
        await manager.retry_job("report", job_id)


async def test_promote_and_remove(manager: JobQueueManager) -> None:
    delayed = await manager.add_delayed_job("email", "later", {}, 3_600_000)
    waiting = await manager.add_job("email", "now", {})
    assert await manager.promote_job("email", delayed.id) == delayed.id
    promoted = await manager.get_job("email", delayed.id)
    assert promoted is not None and promoted.state is JobState.WAITING
    with pytest.raises(JobStateError):
        await manager.promote_job("email", waiting.id)
    assert await manager.remove_job("email", waiting.id) == waiting.id
    assert await manager.get_job("email", waiting.id) is None
    with pytest.raises(JobNotFoundError):
        await manager.remove_job("email", waiting.id)


async def test_active_job_is_not_removed(manager: JobQueueManager, db_url: str) -> None:
    job = await manager.add_job("email", "x", {})
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE pgqueue_jobs SET state = 'active' WHERE id = %s", (int(job.id),))
    with pytest.raises(JobStateError, match="is active"):
        await manager.remove_job("email", job.id)


async def test_clean_removes_by_state_and_age(manager: JobQueueManager, db_url: str) -> None:
    old = await manager.add_bulk("email", [{"name": f"o{i}"} for i in range(3)])
    fresh = await manager.add_job("email", "fresh", {})
    ids = [int(j.id) for j in old]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE pgqueue_jobs SET state = 'completed', finished_at = now() - interval '8 days'"
            " WHERE id = ANY(%s)",
            (ids,),
        )
        conn.execute(
            "UPDATE pgqueue_jobs SET state = 'completed', finished_at = now() WHERE id = %s",
            (int(fresh.id),),
        )
    week = 7 * 24 * 3600 * 1000
    assert await manager.clean_queue("email", week, "failed") == []
    removed = await manager.clean_queue("email", week, "completed", limit=2)
    assert removed == [str(i) for i in ids[:2]]
    assert sorted(await manager.clean_queue("email", week, "completed")) == [str(ids[2])]
    left = await manager.get_jobs("email", "completed")
    assert [j.id for j in left] == [fresh.id]


async def test_list_jobs_by_state_is_paged(manager: JobQueueManager) -> None:
    jobs = await manager.add_bulk("test", [{"name": f"j{i}"} for i in range(5)])
    page = await manager.get_jobs("test", "waiting", 1, 2)
    # Newest first, inclusive range as in Bull.
    assert [j.id for j in page] == [jobs[3].id, jobs[2].id]
    assert len(await manager.get_jobs("test", "waiting", 0, -1)) == 5
