"""Retention (remove_on_complete / remove_on_fail) and lease fencing, on real Postgres."""

from __future__ import annotations

import uuid

import psycopg

from pgqueue import JobQueueManager, JobState, RunningJob, UnrecoverableError
from pgqueue.registry import Registry
from pgqueue.store import ops
from pgqueue.store.sync import execute
from tests.helpers import RunWorker, wait_for


def _registry() -> Registry:
    def bad(job: RunningJob) -> None:
        raise UnrecoverableError("no")

    registry = Registry()
    registry.add("test", "ok", lambda job: None)
    registry.add("test", "bad", bad)
    return registry


async def _counts(manager: JobQueueManager, completed: int, failed: int) -> bool:
    """Nothing left to run, and retention has brought the finished jobs down to these."""
    stats = await manager.get_queue_stats("test")
    return (stats["waiting"], stats["active"], stats["completed"], stats["failed"]) == (
        0,
        0,
        completed,
        failed,
    )


async def _ids(manager: JobQueueManager, state: str) -> set[str]:
    return {j.id for j in await manager.get_jobs("test", state, 0, 1000)}


async def test_by_default_the_newest_100_completed_and_500_failed_are_kept(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    await manager.add_bulk("test", [{"name": "ok"} for _ in range(104)])
    await manager.add_bulk("test", [{"name": "bad"} for _ in range(503)])
    async with run_worker(_registry(), {"test": 10}):
        await wait_for(lambda: _counts(manager, 100, 500), timeout=60)
    assert len(await _ids(manager, "completed")) == 100
    assert len(await _ids(manager, "failed")) == 500


async def test_remove_on_fail_true_and_a_count(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    # Run one at a time, in this order: a count keeps the newest failed jobs of the queue,
    # whatever their own options, so the job kept forever is the oldest one here.
    forever = await manager.add_job("test", "bad", {}, remove_on_fail=False)
    gone = await manager.add_job("test", "bad", {}, remove_on_fail=True)
    kept = await manager.add_bulk(
        "test", [{"name": "bad", "opts": {"remove_on_fail": 2}} for _ in range(5)]
    )
    async with run_worker(_registry(), {"test": 1}):
        await wait_for(lambda: _counts(manager, 0, 3), timeout=30)
    failed = await _ids(manager, "failed")
    assert gone.id not in failed and forever.id in failed
    assert len(failed & {j.id for j in kept}) == 2


async def test_age_based_retention_removes_only_jobs_older_than_their_age(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    short = await manager.add_job("test", "ok", {}, remove_on_complete={"age": 1})
    long = await manager.add_job("test", "ok", {}, remove_on_complete={"age": 3600})
    short_fail = await manager.add_job("test", "bad", {}, remove_on_fail={"age": 1})
    long_fail = await manager.add_job("test", "bad", {}, remove_on_fail={"age": 3600})
    async with run_worker(_registry(), {"test": 2}):
        await wait_for(lambda: _counts(manager, 1, 1), timeout=30)
    assert await _ids(manager, "completed") == {long.id}
    assert await _ids(manager, "failed") == {long_fail.id}
    assert await manager.get_job("test", short.id) is None
    assert await manager.get_job("test", short_fail.id) is None


async def test_a_stale_lease_can_neither_complete_nor_fail_the_job(
    manager: JobQueueManager, db_url: str
) -> None:
    job = await manager.add_job("test", "x", {}, attempts=5)
    first, second = uuid.uuid4(), uuid.uuid4()
    job_id = int(job.id)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for worker in (first, second):
            execute(conn, ops.register_worker(worker, "host", 1, ["test"]))
        [(_, stale)] = execute(conn, ops.claim("test", 1, first))
        # The first worker's lease ends (as after a rescue) and a second worker holds the job.
        assert execute(conn, ops.release([(job_id, stale)])) == {job_id}
        [(_, current)] = execute(conn, ops.claim("test", 1, second))
        assert current != stale

        assert execute(conn, ops.complete([(job_id, stale, '"late"')])).ids == set()
        assert execute(conn, ops.fail(job_id, stale, "late", "", None)) is None
        assert execute(conn, ops.fail(job_id, stale, "late", "", 1000)) is None
        assert execute(conn, ops.update_progress(job_id, stale, "50")) is False
    still = await manager.get_job("test", job.id)
    assert still is not None and still.state is JobState.ACTIVE
    assert still.failed_reason is None and still.progress is None

    with psycopg.connect(db_url, autocommit=True) as conn:
        assert execute(conn, ops.complete([(job_id, current, '"on time"')])).ids == {job_id}
    done = await manager.get_job("test", job.id)
    assert done is not None and done.state is JobState.COMPLETED
    assert done.return_value == "on time"
