"""The dashboard's own queries: recent activity, search, retry-all and promote-all."""

from __future__ import annotations

import pytest

from pgqueue import InvalidJobError, JobQueueManager, JobState
from pgqueue.registry import Registry
from tests.helpers import RunWorker, wait_for


async def _finish(manager: JobQueueManager, run_worker: RunWorker) -> None:
    """Two report jobs complete and one fails, through a real worker."""
    registry = Registry()

    def run(job: object) -> str:
        if getattr(job, "name", "") == "broken":
            raise RuntimeError("renderer crashed")
        return "ok"

    registry.add("report", "*", run)
    for name in ("pipeline-report", "test-coverage", "broken"):
        await manager.add_job("report", name, {}, attempts=1)

    async def finished() -> bool:
        stats = await manager.get_queue_stats("report")
        return stats["completed"] == 2 and stats["failed"] == 1

    async with run_worker(registry, {"report": 2}):
        await wait_for(finished)


async def test_activity_counts_the_last_hour_and_the_oldest_waiting_job(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    await _finish(manager, run_worker)
    await manager.add_job("email", "welcome", {})
    await manager.add_delayed_job("email", "later", {}, 3_600_000)
    activity = await manager.get_queue_activity()
    report = activity["report"]
    assert (report.completed_recently, report.failed_recently) == (2, 1)
    assert report.failure_rate == pytest.approx(1 / 3)
    assert report.oldest_waiting_seconds is None
    email = activity["email"]
    assert (email.completed_recently, email.failed_recently, email.failure_rate) == (0, 0, None)
    assert email.oldest_waiting_seconds is not None and email.oldest_waiting_seconds >= 0
    await manager.pause_queue("email")
    assert (await manager.get_queue_activity())["email"].oldest_waiting_seconds is None


async def test_search_finds_by_id_key_or_part_of_the_name(manager: JobQueueManager) -> None:
    welcome = await manager.add_job("email", "welcome", {})
    reset = await manager.add_job("email", "password-reset", {}, job_id="reset-42")
    await manager.add_job("report", "welcome", {})
    assert [j.id for j in await manager.search_jobs("email", welcome.id)] == [welcome.id]
    assert [j.id for j in await manager.search_jobs("email", "reset-42")] == [reset.id]
    assert [j.id for j in await manager.search_jobs("email", "RESET")] == [reset.id]
    assert {j.id for j in await manager.search_jobs("email", "e")} == {welcome.id, reset.id}
    assert await manager.search_jobs("email", "%") == []
    with pytest.raises(InvalidJobError, match="search text"):
        await manager.search_jobs("email", "  ")


async def test_retry_all_failed_and_promote_all_delayed(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    await _finish(manager, run_worker)
    assert await manager.retry_failed_jobs("report") == 1
    assert await manager.retry_failed_jobs("report") == 0
    [retried] = await manager.get_jobs("report", "waiting")
    assert (retried.name, retried.attempts_made, retried.failed_reason) == ("broken", 0, None)
    for delay in (60_000, 120_000):
        await manager.add_delayed_job("email", "later", {}, delay)
    assert await manager.promote_delayed_jobs("email") == 2
    assert {j.state for j in await manager.get_jobs("email", "waiting")} == {JobState.WAITING}
    assert (await manager.get_queue_stats("email"))["delayed"] == 0
