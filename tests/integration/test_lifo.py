"""LIFO: a job added with `lifo=True` runs first within its priority."""

from __future__ import annotations

from datetime import datetime

import pytest

from pgqueue import JobQueueManager, JobState, RunningJob, SyncJobQueueManager
from pgqueue.errors import InvalidJobError
from pgqueue.registry import Registry
from tests.api_support import Api, data_of
from tests.helpers import RunWorker, wait_for


async def test_lifo_jobs_run_first_within_their_priority(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    order: list[str] = []
    registry = Registry()

    async def record(job: RunningJob) -> None:
        order.append(job.name)

    registry.add("test", "*", record)
    await manager.add_job("test", "a", {}, priority=3)
    await manager.add_job("test", "b", {}, priority=3)
    await manager.add_job("test", "c", {}, priority=3, lifo=True)
    await manager.add_job("test", "d", {}, priority=3, lifo=True)
    await manager.add_job("test", "urgent", {}, priority=1)
    await manager.add_job("test", "low-lifo", {}, priority=4, lifo=True)
    await manager.add_bulk(
        "test", [{"name": n, "data": {}, "opts": {"lifo": True, "priority": 3}} for n in "xy"]
    )
    waiting = await manager.get_job("test", (await manager.add_job("test", "e", {})).id)
    assert waiting is not None and waiting.state is JobState.WAITING
    async with run_worker(registry, {"test": 1}):
        await wait_for(lambda: len(order) == 9)
    assert order == ["urgent", "y", "x", "d", "c", "a", "b", "e", "low-lifo"]


def test_lifo_is_validated(sync_manager: SyncJobQueueManager) -> None:
    with pytest.raises(InvalidJobError, match="lifo"):
        sync_manager.add_job("test", "x", {}, lifo="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidJobError, match="lifo"):
        sync_manager.add_job("test", "x", {}, lifo=True, delay=1000)
    job = sync_manager.add_job("test", "x", {}, lifo=True)
    assert job.opts["lifo"] is True and job.state is JobState.WAITING
    activity = sync_manager.get_queue_activity()
    waited = activity["test"].oldest_waiting_seconds
    assert waited is not None and 0 <= waited < 3600


async def test_a_lifo_job_shows_when_it_was_added_as_its_run_time(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    """Its sort key is stored as a time mirrored about 1970; what anyone reads is the
    time it became ready, which is when it was added: alone, in a bulk, in a flow, and
    as its processor sees it."""
    one = await manager.add_job("test", "one", {}, lifo=True)
    [bulk] = await manager.add_bulk("test", [{"name": "bulk", "data": {}, "opts": {"lifo": True}}])
    flow = await manager.add_flow({"queue": "test", "name": "flow", "opts": {"lifo": True}})
    added = [one, bulk, flow["job"]]
    for job in added:
        assert job.run_at == job.created_at, job.name
        stored = await manager.get_job("test", job.id)
        assert stored is not None and stored.run_at == stored.created_at == job.created_at
        body = data_of(
            await api.client.get(f"/api/v1/jobs/queues/test/job/{job.id}", headers=api.admin)
        )
        assert body["runAt"] == body["timestamp"]

    seen: dict[str, datetime | None] = {}
    registry = Registry()

    async def record(job: RunningJob) -> None:
        seen[job.id] = job.job.run_at

    registry.add("test", "*", record)
    async with run_worker(registry, {"test": 1}):
        await wait_for(lambda: len(seen) == 3)
    assert seen == {job.id: job.created_at for job in added}
