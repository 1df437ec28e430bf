"""Per-minute metrics: counted as jobs finish, folded by the maintenance pass, and never
taken away by retention."""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from pgqueue import InvalidJobError, Job, JobQueueManager, JobState, RunningJob
from pgqueue.registry import Registry
from pgqueue.store import chart_ops, ops
from pgqueue.store.sync import execute
from pgqueue.types import MinuteMetrics
from tests.api_support import Api, data_of, error_of
from tests.helpers import RunWorker, wait_for


def ms(later: datetime | None, earlier: datetime | None) -> float:
    assert later is not None and earlier is not None
    return max(0.0, (later - earlier).total_seconds() * 1000)


async def finish_jobs(manager: JobQueueManager, run_worker: RunWorker) -> list[Job]:
    """Five completed jobs in `test` (one removed at once on completion), two failed in
    `report`; returns the ones still stored."""
    registry = Registry()

    async def work(job: RunningJob) -> None:
        if job.data.get("fail"):
            raise RuntimeError("no")

    registry.add("test", "*", work)
    registry.add("report", "*", work)
    kept = [await manager.add_job("test", "ok", {"i": i}) for i in range(4)]
    gone = await manager.add_job("test", "ok", {"i": 4}, remove_on_complete=True)
    failed = [await manager.add_job("report", "bad", {"fail": 1}, attempts=1) for _ in range(2)]
    async with run_worker(registry, {"test": 2, "report": 1}):

        async def all_done() -> bool:
            states = [await manager.get_job(j.queue, j.id) for j in [*kept, *failed]]
            return (
                all(
                    s is not None and s.state in (JobState.COMPLETED, JobState.FAILED)
                    for s in states
                )
                and await manager.get_job("test", gone.id) is None
            )

        await wait_for(all_done)
    done = [await manager.get_job(j.queue, j.id) for j in [*kept, *failed]]
    return [j for j in done if j is not None]


def totals(series: list[MinuteMetrics]) -> tuple[int, int]:
    return sum(m["completed"] for m in series), sum(m["failed"] for m in series)


async def test_jobs_are_counted_per_minute_with_median_wait_and_run(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    done = await finish_jobs(manager, run_worker)
    series = await manager.get_minute_metrics("test", 10)
    assert len(series) == 10
    assert [m["minute"] for m in series] == sorted(m["minute"] for m in series)
    assert all(m["minute"].second == 0 for m in series)
    # The job removed on completion counts: it was counted as it finished.
    assert totals(series) == (5, 0)
    assert totals(await manager.get_minute_metrics("report", 10)) == (0, 2)
    assert totals(await manager.get_minute_metrics(None, 10)) == (5, 2)
    assert all(m["wait_median_ms"] is None for m in series if not m["completed"])

    failed = [j for j in done if j.queue == "report"]
    [report_minute] = [m for m in await manager.get_minute_metrics("report", 10) if m["failed"]]
    assert report_minute["run_median_ms"] == pytest.approx(
        statistics.median(ms(j.finished_at, j.processed_at) for j in failed), abs=1
    )
    assert report_minute["wait_median_ms"] == pytest.approx(
        statistics.median(ms(j.processed_at, j.run_at) for j in failed), abs=1
    )

    # Folding (here: as if the minutes were long closed) keeps every number, and then
    # removing every job of the queues changes nothing.
    before = {q: await manager.get_minute_metrics(q, 30) for q in ("test", "report", None)}
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE pgqueue_minute_deltas SET minute = minute - interval '10 minutes'")
        assert execute(conn, chart_ops.fold_minutes(10_000)) >= 3  # test, report, '*'
        assert conn.execute("SELECT count(*) FROM pgqueue_minute_deltas").fetchone() == (0,)
    await manager.clean_queue("test", 0, "completed")
    await manager.clean_queue("report", 0, "failed")
    for queue, old in before.items():
        new = await manager.get_minute_metrics(queue, 30)
        assert totals(new) == totals(old), queue
        moved = [m for m in new if m["completed"] or m["failed"]]
        kept = [m for m in old if m["completed"] or m["failed"]]
        assert [m["run_median_ms"] for m in moved] == pytest.approx(
            [m["run_median_ms"] for m in kept]
        ), queue


async def test_jobs_failed_outside_the_workers_writes_count_too(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    """A job rescued with no attempts left, and a parent failed by its child, count in
    the minute they failed, as the worker's own failures do."""
    lost = await manager.add_job("report", "lost", {}, attempts=1)
    with psycopg.connect(db_url, autocommit=True) as conn:
        # A worker that is gone: it never registered, so its claim has no heartbeat.
        [(claimed, _lease)] = execute(conn, ops.claim("report", 1, uuid.uuid4()))
        assert claimed.id == lost.id
        [rescued] = execute(conn, ops.rescue(lease_seconds=30, limit=10))
    assert rescued["state"] == "failed"
    assert totals(await manager.get_minute_metrics("report", 10)) == (0, 1)

    registry = Registry()

    async def work(job: RunningJob) -> None:
        raise RuntimeError("no")

    registry.add("test", "*", work)
    tree = await manager.add_flow(
        {"queue": "report", "name": "parent", "children": [
            {"queue": "test", "name": "child", "opts": {"attempts": 1}},
        ]}
    )  # fmt: skip
    async with run_worker(registry, {"test": 1}):
        parent = await manager.wait_for_job("report", tree["job"].id, timeout=30)
    assert parent.state is JobState.FAILED
    assert totals(await manager.get_minute_metrics("test", 10)) == (0, 1)
    assert totals(await manager.get_minute_metrics("report", 10)) == (0, 2)
    assert totals(await manager.get_minute_metrics(None, 10)) == (0, 3)


async def test_completions_are_counted_while_the_worker_runs(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    """The worker counts its completions in memory and sends them about once a second,
    not only when it stops."""
    registry = Registry()

    async def work(job: RunningJob) -> int:
        return 1

    registry.add("test", "*", work)
    await manager.add_bulk("test", [{"name": "ok", "data": {"i": i}} for i in range(3)])
    async with run_worker(registry, {"test": 2}):

        async def counted() -> bool:
            return totals(await manager.get_minute_metrics("test", 5)) == (3, 0)

        await wait_for(counted, timeout=10)


async def test_a_lifo_job_waits_from_when_it_was_added(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    """A LIFO job's stored run time is a sort key mirrored before 1970; its wait counts
    from when it was added, whether it completes or fails for good."""
    registry = Registry()

    async def work(job: RunningJob) -> None:
        if job.name == "bad":
            raise RuntimeError("no")

    registry.add("test", "*", work)
    done = [
        await manager.add_job("test", "ok", {}, lifo=True),
        await manager.add_job("test", "bad", {}, lifo=True, attempts=1),
    ]
    async with run_worker(registry, {"test": 1}):
        for job in done:
            await manager.wait_for_job("test", job.id, timeout=30)
    series = await manager.get_minute_metrics("test", 5)
    assert totals(series) == (1, 1)
    for minute in series:
        if minute["completed"] or minute["failed"]:
            waited = minute["wait_median_ms"]
            assert waited is not None and 0 <= waited < 60_000


async def test_minutes_and_queue_are_validated(manager: JobQueueManager) -> None:
    for minutes in (0, 1441, True, "5"):
        with pytest.raises(InvalidJobError, match="minutes must be"):
            await manager.get_minute_metrics("test", minutes)  # type: ignore[arg-type]
    with pytest.raises(InvalidJobError, match="queue name"):
        await manager.get_minute_metrics("*", 5)
    assert len(await manager.get_minute_metrics("never-used", 1440)) == 1440


async def test_metrics_route_serves_the_same_series(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    await finish_jobs(manager, run_worker)
    path = "/api/v1/jobs/queues/test/metrics"
    body = data_of(await api.client.get(f"{path}?minutes=15", headers=api.admin))
    assert body["queue"] == "test" and body["minutes"] == 15 and len(body["series"]) == 15
    assert sum(m["completed"] for m in body["series"]) == 5
    busy = [m for m in body["series"] if m["completed"]]
    assert all(m["runMedianMs"] is not None and m["waitMedianMs"] >= 0 for m in busy)
    expected = await manager.get_minute_metrics("test", 15)
    assert [m["minute"] for m in body["series"]] == [
        int(m["minute"].timestamp() * 1000) for m in expected
    ]
    assert len(data_of(await api.client.get(path, headers=api.admin))["series"]) == 60
    error_of(await api.client.get(f"{path}?minutes=0", headers=api.admin), 422)
    error_of(await api.client.get(f"{path}?minutes=1441", headers=api.admin), 422)
    error_of(await api.client.get(f"{path}?minutes=soon", headers=api.admin), 400)
    error_of(await api.client.get(f"{path}?minutes=5"), 401)


def test_times_are_stored_exactly_as_measured(db_url: str) -> None:
    times = [0.0, 1e-07, 0.1, 2 / 3, 12.5, 123456.789, 1e16, 5e-324]
    minute = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        execute(conn, chart_ops.add_completed_minute("test", minute, 8, times, times[::-1]))
        stored = conn.execute("SELECT wait_ms, run_ms FROM pgqueue_minute_deltas").fetchall()
    assert stored == [(times, times[::-1])]
