"""Cancelling jobs and waiting for a job's result, against a real worker and database."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from pgqueue import JobQueueManager, JobState, RunningJob, SyncJobQueueManager
from pgqueue.config import Settings
from pgqueue.errors import InvalidJobError, JobNotFoundError, JobStateError
from pgqueue.registry import Registry
from pgqueue.store import feature_ops
from tests.helpers import RunWorker, wait_for


async def control_listened(db_url: str) -> bool:
    """The worker's LISTEN connection has subscribed to the control channel."""
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN pgqueue_control' "
            "AND datname = current_database()"
        )
        row = await cur.fetchone()
    return row is not None and row[0] > 0


async def in_state(manager: JobQueueManager, job_id: str, state: JobState) -> bool:
    job = await manager.get_job("test", job_id)
    return job is not None and job.state is state


async def test_cancel_waiting_and_delayed_jobs_records_who_and_when(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    ran: list[str] = []
    registry = Registry()

    async def record(job: RunningJob) -> None:
        ran.append(job.id)

    registry.add("test", "*", record)
    waiting = await manager.add_job("test", "w", {})
    delayed = await manager.add_delayed_job("test", "d", {}, 60_000)
    kept = await manager.add_job("test", "k", {})
    assert await manager.cancel_job("test", waiting.id, by="alice") == waiting.id
    assert await manager.cancel_job("test", delayed.id) == delayed.id
    async with run_worker(registry, {"test": 2}):
        await wait_for(lambda: in_state(manager, kept.id, JobState.COMPLETED))
    assert ran == [kept.id]
    job = await manager.get_job("test", waiting.id)
    assert job is not None and job.state is JobState.CANCELLED
    assert job.cancelled_by == "alice" and job.finished_on is not None
    other = await manager.get_job("test", delayed.id)
    assert other is not None and other.state is JobState.CANCELLED
    assert other.cancelled_by is not None and "@" in other.cancelled_by
    stats = await manager.get_queue_stats("test")
    assert stats["cancelled"] == 2 and stats["delayed"] == 0 and stats["completed"] == 1
    cancelled = await manager.get_jobs("test", "cancelled")
    assert {j.id for j in cancelled} == {waiting.id, delayed.id}


async def test_cancel_refuses_finished_and_unknown_jobs(manager: JobQueueManager) -> None:
    job = await manager.add_job("test", "x", {})
    await manager.cancel_job("test", job.id)
    with pytest.raises(JobStateError, match="cancelled"):
        await manager.cancel_job("test", job.id)
    with pytest.raises(JobNotFoundError):
        await manager.cancel_job("test", "999999")
    with pytest.raises(InvalidJobError):
        await manager.cancel_job("test", job.id, by="")


async def test_cancel_stops_a_running_async_processor_and_never_retries_it(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str, settings: Settings
) -> None:
    """The worker hears of the cancel by NOTIFY: its heartbeat (the fallback) and its
    poll are 30 s away, and the processor stops well within the 10 s waited for."""
    slow_fallbacks = replace(settings, heartbeat_seconds=30, lease_seconds=120, poll_interval=30)
    started = asyncio.Event()
    stopped: list[float] = []
    runs: list[int] = []
    registry = Registry()

    async def long(job: RunningJob) -> str:
        runs.append(job.attempts_made)
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.append(time.monotonic())
            raise
        return "finished"

    registry.add("test", "long", long)
    job = await manager.add_job("test", "long", {}, attempts=3)
    async with run_worker(registry, {"test": 1}, slow_fallbacks):
        await asyncio.wait_for(started.wait(), 15)
        await wait_for(lambda: control_listened(db_url))
        await manager.cancel_job("test", job.id, by="ops")
        await wait_for(lambda: stopped, timeout=10)
        # The slot is free again: another job runs, the cancelled one does not come back.
        after = await manager.add_job("test", "long", {})
        await wait_for(lambda: len(runs) == 2, timeout=10)
        await manager.cancel_job("test", after.id)
    assert runs == [1, 1]
    final = await manager.get_job("test", job.id)
    assert final is not None and final.state is JobState.CANCELLED
    assert final.attempts_made == 1 and final.cancelled_by == "ops"


async def test_a_sync_processor_sees_cancel_requested(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    started = threading.Event()
    saw: list[bool] = []
    registry = Registry()

    def polite(job: RunningJob) -> str:
        started.set()
        deadline = time.monotonic() + 20
        while not job.cancel_requested and time.monotonic() < deadline:
            time.sleep(0.01)
        saw.append(job.cancel_requested)
        return "stopped early"

    registry.add("test", "polite", polite)
    job = await manager.add_job("test", "polite", {})
    async with run_worker(registry, {"test": 1}):
        await asyncio.to_thread(started.wait, 15)
        await wait_for(lambda: control_listened(db_url))
        await manager.cancel_job("test", job.id)
        await wait_for(lambda: saw, timeout=5)
    assert saw == [True]
    final = await manager.get_job("test", job.id)
    assert final is not None and final.state is JobState.CANCELLED
    assert final.return_value is None


async def test_retry_job_requeues_a_cancelled_job(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()

    async def ok(job: RunningJob) -> int:
        return 7

    registry.add("test", "ok", ok)
    job = await manager.add_job("test", "ok", {})
    await manager.cancel_job("test", job.id)
    assert await manager.retry_job("test", job.id) == job.id
    requeued = await manager.get_job("test", job.id)
    assert requeued is not None and requeued.state is JobState.WAITING
    assert requeued.cancelled_by is None
    async with run_worker(registry, {"test": 1}):
        done = await manager.wait_for_job("test", job.id, timeout=15)
    assert done.state is JobState.COMPLETED and done.return_value == 7


async def test_wait_for_job_returns_completed_failed_and_cancelled_jobs(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    release = asyncio.Event()

    async def ok(job: RunningJob) -> dict[str, Any]:
        await release.wait()
        return {"n": job.data["n"]}

    async def bad(job: RunningJob) -> None:
        await release.wait()
        raise ValueError("no good")

    registry.add("test", "ok", ok)
    registry.add("test", "bad", bad)
    good = await manager.add_job("test", "ok", {"n": 3})
    failing = await manager.add_job("test", "bad", {}, attempts=1)
    doomed = await manager.add_delayed_job("test", "ok", {"n": 0}, 60_000)
    async with run_worker(registry, {"test": 2}):
        waits = [
            asyncio.create_task(manager.wait_for_job("test", j.id, timeout=20))
            for j in (good, failing, doomed)
        ]
        await asyncio.sleep(0)
        release.set()
        await manager.cancel_job("test", doomed.id)
        results = await asyncio.gather(*waits)
    assert [r.state for r in results] == [JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED]
    assert results[0].return_value == {"n": 3}
    assert results[1].failed_reason == "no good"


async def test_wait_for_job_times_out(manager: JobQueueManager) -> None:
    job = await manager.add_job("test", "never", {})
    with pytest.raises(TimeoutError):
        await manager.wait_for_job("test", job.id, timeout=0.2)
    with pytest.raises(JobNotFoundError):
        await manager.wait_for_job("test", "424242", timeout=1)
    with pytest.raises(InvalidJobError):
        await manager.wait_for_job("test", job.id, timeout=0)


async def test_wait_for_job_is_woken_by_notify_not_by_polling(
    manager: JobQueueManager, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job finished behind the waiter's back (no notification) is not noticed until a
    notification names its queue: the waiter reads the job once, then only when told."""
    reads: list[str | int] = []
    real = feature_ops.job_outcome

    def counted(queue: str, job_id: str | int) -> Any:
        reads.append(job_id)
        return real(queue, job_id)

    monkeypatch.setattr(feature_ops, "job_outcome", counted)
    job = await manager.add_job("test", "x", {})
    waiter = asyncio.create_task(manager.wait_for_job("test", job.id, timeout=30))
    await wait_for(lambda: reads)
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute(
            "UPDATE pgqueue_jobs SET state = 'completed', finished_at = now() WHERE id = %s",
            (int(job.id),),
        )
        done, _ = await asyncio.wait({waiter}, timeout=1.0)
        assert not done and len(reads) == 1
        await conn.execute("SELECT pg_notify('pgqueue_finished', 'other test')")
    result = await asyncio.wait_for(waiter, 5)
    assert result.state is JobState.COMPLETED and len(reads) == 2


def test_sync_manager_cancels_and_waits(sync_manager: SyncJobQueueManager) -> None:
    job = sync_manager.add_job("test", "x", {})
    with pytest.raises(TimeoutError):
        sync_manager.wait_for_job("test", job.id, timeout=0.2)

    def cancel_soon() -> None:
        time.sleep(0.2)
        sync_manager.cancel_job("test", job.id, by="sync")

    thread = threading.Thread(target=cancel_soon)
    thread.start()
    result = sync_manager.wait_for_job("test", job.id, timeout=15)
    thread.join()
    assert result.state is JobState.CANCELLED and result.cancelled_by == "sync"
    assert sync_manager.get_queue_stats("test")["cancelled"] == 1
