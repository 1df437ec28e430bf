"""Rate limits, global concurrency, cancel and flows across several real worker processes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest

from pgqueue import JobQueueManager, JobState
from tests.helpers import job_in, pgqueue_process, wait_for
from tests.workload import RUNS_DDL, TIMINGS_DDL

FAST = {
    "PGQUEUE_LEASE_SECONDS": "2",
    "PGQUEUE_HEARTBEAT_SECONDS": "0.5",
    "PGQUEUE_POLL_INTERVAL": "0.2",
}


@pytest.fixture
def workers(db_url: str) -> Iterator[list[subprocess.Popen[str]]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(RUNS_DDL)
        conn.execute(TIMINGS_DDL)
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def start_workers(db_url: str, workers: list[subprocess.Popen[str]], n: int) -> None:
    for _ in range(n):
        workers.append(
            pgqueue_process(
                ["worker", "--queue", "test", "--concurrency", "5", "--import", "tests.workload"],
                db_url,
                FAST,
            )
        )


def query(db_url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql).fetchall()


async def completed(manager: JobQueueManager, n: int) -> bool:
    return (await manager.get_queue_stats("test"))["completed"] >= n


def most_in_any_window(times: list[datetime], window: timedelta) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


async def test_rate_limit_holds_across_three_worker_processes(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    await manager.set_rate_limit("test", 5, 1000)
    await manager.add_bulk("test", [{"name": "timed", "data": {}} for _ in range(30)])
    began = time.monotonic()
    start_workers(db_url, workers, 3)
    # Held back, the jobs stay waiting, and the limit says how many it holds back.
    limits = await wait_for(lambda: _held_back(manager), timeout=30)
    assert limits.rate_max == 5 and limits.rate_duration_ms == 1000
    stats = await manager.get_queue_stats("test")
    assert stats["delayed"] == 0 and stats["waiting"] > 0
    await wait_for(lambda: completed(manager, 30), timeout=60)
    took = time.monotonic() - began
    starts = [row[0] for row in query(db_url, "SELECT processed_at FROM pgqueue_jobs")]
    assert len(starts) == 30
    assert isinstance(starts[0], datetime)
    assert most_in_any_window(starts, timedelta(seconds=1)) <= 5  # type: ignore[arg-type]
    pids = {row[0] for row in query(db_url, "SELECT DISTINCT pid FROM test_timings")}
    assert len(pids) >= 2, f"one process did all the work in {took:.1f} s"
    span = query(db_url, "SELECT max(finished_at) - min(processed_at) FROM pgqueue_jobs")[0][0]
    print(f"30 jobs at 5/s, 3 processes: {took:.2f} s with start-up, {span} from first start")
    await manager.set_rate_limit("test", None)
    assert await manager.get_queue_limits() == {}


async def _held_back(manager: JobQueueManager) -> object:
    found = (await manager.get_queue_limits("test")).get("test")
    return found if found is not None and found.held_back > 0 else None


async def test_global_concurrency_caps_active_jobs_across_processes(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    await manager.set_global_concurrency("test", 2)
    await manager.add_bulk("test", [{"name": "timed", "data": {"seconds": 0.3}} for _ in range(10)])
    start_workers(db_url, workers, 3)
    await wait_for(lambda: completed(manager, 10), timeout=60)
    spans = query(db_url, "SELECT started, ended FROM test_timings WHERE outcome = 'completed'")
    assert len(spans) == 10
    edges = sorted(
        [(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    assert most <= 2
    await manager.set_global_concurrency("test", None)
    assert await manager.get_queue_limits() == {}


async def test_cancel_reaches_the_process_running_the_job(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    start_workers(db_url, workers, 2)
    sleeper = await manager.add_job("test", "timed", {"seconds": 60}, attempts=3)
    polite = await manager.add_job("test", "polite", {"seconds": 60})
    for job in (sleeper, polite):
        await wait_for(lambda j=job: job_in(manager, "test", j.id, JobState.ACTIVE), timeout=30)  # type: ignore[misc]
    await manager.cancel_job("test", sleeper.id, by="test")
    await manager.cancel_job("test", polite.id, by="test")
    outcomes = await wait_for(
        lambda: (
            dict(query(db_url, "SELECT job_id, outcome FROM test_timings"))  # type: ignore[arg-type]
            or None
            if len(query(db_url, "SELECT 1 FROM test_timings")) == 2
            else None
        ),
        timeout=15,
    )
    assert outcomes == {int(sleeper.id): "cancelled", int(polite.id): "stopped"}
    for job in (sleeper, polite):
        final = await manager.wait_for_job("test", job.id, timeout=5)
        assert final.state is JobState.CANCELLED and final.cancelled_by == "test"
        assert final.attempts_made == 1


async def test_a_flow_of_many_children_completes_once_across_processes(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    """Siblings complete concurrently in three processes; the parent counts every one."""
    children = [{"queue": "test", "name": "timed", "data": {"seconds": 0.05}} for _ in range(40)]
    tree = await manager.add_flow({"queue": "test", "name": "gather", "children": children})
    start_workers(db_url, workers, 3)
    done = await manager.wait_for_job("test", tree["job"].id, timeout=60)
    assert done.state is JobState.COMPLETED
    assert done.return_value["children"] == 40
    ids = {node["job"].id for node in tree["children"]}
    assert set(done.return_value["values"]) == ids
    pids = set(done.return_value["values"].values())
    assert len(pids) >= 2, "the children ran in one process only"
    runs = query(db_url, "SELECT count(*) FROM test_timings")[0][0]
    assert runs == 40


async def test_lifo_jobs_are_claimed_first_by_several_processes(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    """Two processes of concurrency 1 resume a paused queue: the LIFO job and the oldest
    FIFO job start first, the other FIFO job only once a slot frees."""
    await manager.pause_queue("test")
    first = await manager.add_job("test", "timed", {"seconds": 2})
    second = await manager.add_job("test", "timed", {"seconds": 2})
    urgent = await manager.add_job("test", "timed", {"seconds": 2}, lifo=True)
    for _ in range(2):
        workers.append(
            pgqueue_process(
                ["worker", "--queue", "test", "--concurrency", "1", "--import", "tests.workload"],
                db_url,
                FAST,
            )
        )
    await wait_for(lambda: _live_workers(manager, 2), timeout=30)
    await manager.resume_queue("test")
    await wait_for(lambda: completed(manager, 3), timeout=60)
    order = [
        str(row[0]) for row in query(db_url, "SELECT id FROM pgqueue_jobs ORDER BY processed_at")
    ]
    assert set(order[:2]) == {urgent.id, first.id}
    assert order[2] == second.id


async def _live_workers(manager: JobQueueManager, n: int) -> bool:
    return len(await manager.get_workers()) >= n
