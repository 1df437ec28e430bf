"""Running jobs in a worker: results, failures, retries, priorities, delays, pausing."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from typing import Any

import psycopg

from pgqueue import JobQueueManager, JobState, RunningJob, UnrecoverableError
from pgqueue.registry import Registry
from pgqueue.store import ops
from pgqueue.store.sync import execute
from tests.helpers import RunWorker, finished, stat_is, wait_for


async def test_async_and_sync_processors_complete_with_results(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    threads: list[str] = []

    async def handle_async(job: RunningJob) -> dict[str, Any]:
        await job.progress(25)
        await job.update_progress(75)
        await job.log("halfway")
        return {"double": job.data["n"] * 2}

    def handle_sync(job: RunningJob) -> list[int]:
        threads.append(threading.current_thread().name)
        job.progress(40)
        job.log("from a thread")
        return [job.data["n"], job.progress()]

    registry.add("test", "async", handle_async)
    registry.add("test", "sync", handle_sync)
    a = await manager.add_job("test", "async", {"n": 21}, job_id="async-21")
    s = await manager.add_job("test", "sync", {"n": 5})
    async with run_worker(registry, {"test": 2}):
        done_a = await wait_for(lambda: finished(manager, "test", a.id))
        done_s = await wait_for(lambda: finished(manager, "test", s.id))
    assert done_a.state is JobState.COMPLETED
    assert done_a.return_value == {"double": 42}
    assert done_a.progress == 75
    assert done_a.attempts_made == 1
    assert done_a.processed_on is not None and done_a.finished_on >= done_a.processed_on
    assert done_s.return_value == [5, 40]
    assert done_s.progress == 40
    assert threads and threads[0] != threading.main_thread().name
    logs = await manager.get_job_logs("test", a.id)
    assert [entry["message"] for entry in logs] == ["halfway"]
    by_key = await manager.get_job_logs("test", "async-21")
    assert [entry["message"] for entry in by_key] == ["halfway"]
    assert [e["message"] for e in await manager.get_job_logs("test", s.id)] == ["from a thread"]


async def test_named_processor_wins_over_catch_all_and_missing_one_fails(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    registry.add("email", "*", lambda job: "catch-all")
    registry.add("email", "welcome", lambda job: "welcome")
    registry.add("report", "known", lambda job: "ok")
    w = await manager.add_job("email", "welcome", {})
    o = await manager.add_job("email", "other", {})
    u = await manager.add_job("report", "unknown", {}, attempts=1)
    async with run_worker(registry, {"email": 2, "report": 1}):
        assert (await wait_for(lambda: finished(manager, "email", w.id))).return_value == "welcome"
        assert (
            await wait_for(lambda: finished(manager, "email", o.id))
        ).return_value == "catch-all"
        failed = await wait_for(lambda: finished(manager, "report", u.id))
    assert failed.state is JobState.FAILED
    assert "no processor" in failed.failed_reason


async def test_failure_retries_with_exponential_backoff_then_fails(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    starts: list[float] = []

    def flaky(job: RunningJob) -> None:
        starts.append(time.monotonic())
        raise ConnectionError(f"attempt {job.attempts_made} failed")

    registry.add("email", "flaky", flaky)
    job = await manager.add_job(
        "email", "flaky", {}, attempts=3, backoff={"type": "exponential", "delay": 300}
    )
    async with run_worker(registry, {"email": 1}):
        failed = await wait_for(lambda: finished(manager, "email", job.id))
    assert failed.state is JobState.FAILED
    assert failed.attempts_made == 3
    assert failed.failed_reason == "attempt 3 failed"
    assert len(failed.stacktrace) == 3 and "ConnectionError" in failed.stacktrace[-1]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 2
    # 300 ms then 600 ms: never early. The second wait being at least 600 ms is what shows
    # the doubling; how much later than that each attempt starts depends on the machine.
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6
    assert [j.id for j in await manager.get_failed_jobs("email", 0, 10)] == [job.id]


async def test_fixed_backoff_and_eventual_success(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    starts: list[float] = []

    async def second_time_lucky(job: RunningJob) -> str:
        starts.append(time.monotonic())
        if job.attempts_made < 2:
            raise RuntimeError("not yet")
        return "done"

    registry.add("email", "lucky", second_time_lucky)
    job = await manager.add_job("email", "lucky", {}, attempts=3, backoff=400)
    async with run_worker(registry, {"email": 1}):
        done = await wait_for(lambda: finished(manager, "email", job.id))
    assert done.state is JobState.COMPLETED and done.return_value == "done"
    assert done.attempts_made == 2
    assert starts[1] - starts[0] >= 0.4


async def test_unrecoverable_error_fails_without_retries(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    calls = 0

    async def permanent(job: RunningJob) -> None:
        nonlocal calls
        calls += 1
        raise UnrecoverableError("mailbox does not exist")

    registry.add("email", "x", permanent)
    job = await manager.add_job("email", "x", {}, attempts=5, backoff=10)
    async with run_worker(registry, {"email": 1}):
        failed = await wait_for(lambda: finished(manager, "email", job.id))
    assert failed.state is JobState.FAILED
    assert failed.attempts_made == 1 and calls == 1
    assert failed.failed_reason == "mailbox does not exist"


async def test_strict_priority_order_with_one_slot(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    order: list[str] = []
    registry.add("cleanup", "*", lambda job: order.append(job.name))
    await manager.add_bulk(
        "cleanup",
        [
            {"name": "low-1", "opts": {"priority": 4}},
            {"name": "normal-1", "opts": {"priority": 3}},
            {"name": "critical-1", "opts": {"priority": 1}},
            {"name": "low-2", "opts": {"priority": 4}},
            {"name": "high-1", "opts": {"priority": 2}},
            {"name": "critical-2", "opts": {"priority": 1}},
            {"name": "normal-2", "opts": {"priority": 3}},
        ],
    )
    async with run_worker(registry, {"cleanup": 1}):
        await wait_for(lambda: len(order) == 7)
    assert order == [
        "critical-1", "critical-2", "high-1", "normal-1", "normal-2", "low-1", "low-2"
    ]  # fmt: skip


async def test_delayed_job_runs_at_its_time_not_before(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    registry.add("notification", "*", lambda job: None)
    async with run_worker(registry, {"notification": 2}):
        job = await manager.add_delayed_job("notification", "push", {}, 1500)
        assert job.state is JobState.DELAYED and job.run_at is not None
        done = await wait_for(lambda: finished(manager, "notification", job.id))
    assert done.state is JobState.COMPLETED
    # Both times come from the server's clock. How soon after its time a delayed job
    # starts is a latency, measured by `make bench`.
    assert done.processed_at is not None and done.processed_at >= job.run_at


async def test_idle_worker_is_woken_by_notify(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    registry = Registry()
    started: list[str] = []
    registry.add("test", "*", lambda job: started.append(job.id))
    # The poll never comes within the test's deadline: only LISTEN/NOTIFY can start the job.
    settings = manager.settings.__class__(
        poll_interval=3600.0, lease_seconds=2, heartbeat_seconds=0.5
    )
    async with run_worker(registry, {"test": 1}, settings):
        await wait_for(lambda: a_session_listens(db_url))
        job = await manager.add_job("test", "ping", {})
        await wait_for(lambda: started, timeout=15)
    assert started == [job.id]


def a_session_listens(db_url: str) -> bool:
    """Some session of this database has issued LISTEN and waits for notifications."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query ILIKE 'LISTEN %' AND state = 'idle'"
        ).fetchone()
    return bool(row and row[0])


async def test_timeout_fails_the_attempt(manager: JobQueueManager, run_worker: RunWorker) -> None:
    registry = Registry()

    async def slow(job: RunningJob) -> None:
        await asyncio.sleep(30)

    registry.add("report", "slow", slow)
    job = await manager.add_job("report", "slow", {}, timeout=200, attempts=1)
    async with run_worker(registry, {"report": 1}):
        failed = await wait_for(lambda: finished(manager, "report", job.id))
    assert failed.state is JobState.FAILED
    assert "timed out after 200 ms" in failed.failed_reason


async def test_unserialisable_return_value_fails_the_attempt(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    registry.add("test", "*", lambda job: object())
    job = await manager.add_job("test", "bad", {}, attempts=1)
    async with run_worker(registry, {"test": 1}):
        failed = await wait_for(lambda: finished(manager, "test", job.id))
    assert failed.state is JobState.FAILED
    assert "return value must be JSON-serialisable" in failed.failed_reason


async def test_paused_queue_counts_as_paused_and_resumes(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    registry.add("analytics", "*", lambda job: None)
    await manager.pause_queue("analytics")
    jobs = await manager.add_bulk("analytics", [{"name": "a"}, {"name": "b"}])
    stats = await manager.get_queue_stats("analytics")
    assert (stats["paused"], stats["waiting"]) == (2, 0)
    paused_job = await manager.get_job("analytics", jobs[0].id)
    assert paused_job is not None and paused_job.state is JobState.PAUSED
    async with run_worker(registry, {"analytics": 2}):
        # A paused queue is not claimed from, however long the worker waits.
        await asyncio.sleep(0.6)
        assert (await manager.get_queue_stats("analytics"))["paused"] == 2
        await manager.resume_queue("analytics")
        await wait_for(lambda: stat_is(manager, "analytics", "completed", 2), timeout=5)
    assert "analytics" not in await manager.get_paused_queues()


async def test_remove_on_complete_true_deletes_and_count_is_pruned(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    ran: list[str] = []
    registry.add("test", "*", lambda job: ran.append(job.name))
    gone = await manager.add_job("test", "gone", {}, remove_on_complete=True)
    kept = await manager.add_bulk(
        "test", [{"name": f"k{i}", "opts": {"remove_on_complete": 2}} for i in range(5)]
    )
    async with run_worker(registry, {"test": 1}):
        await wait_for(lambda: len(ran) == 6)
        await wait_for(lambda: _no_job(manager, "test", gone.id))
        # Retention is applied by the maintenance pass, so it converges shortly after.
        await wait_for(lambda: _settled_with(manager, "test", 2), timeout=15)
    left = await manager.get_jobs("test", "completed")
    # The two most recently finished are kept. Completions written by two concurrent
    # batches may carry finish times out of job order, so which two is not asserted.
    assert len(left) == 2 and {j.name for j in left} <= {j.name for j in kept}


async def _settled_with(manager: JobQueueManager, queue: str, completed: int) -> bool:
    """Nothing left to run or to record, and retention has done its work."""
    stats = await manager.get_queue_stats(queue)
    return (stats["waiting"], stats["active"], stats["completed"]) == (0, 0, completed)


async def _no_job(manager: JobQueueManager, queue: str, job_id: str) -> bool:
    return await manager.get_job(queue, job_id) is None


async def test_lost_listen_connection_is_reopened(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    registry = Registry()
    started: list[float] = []
    registry.add("test", "*", lambda job: started.append(time.monotonic()))
    settings = manager.settings.__class__(poll_interval=30.0, lease_seconds=5, heartbeat_seconds=1)
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
    )

    def listeners() -> list[int]:
        with psycopg.connect(db_url, autocommit=True) as conn:
            return [row[0] for row in conn.execute(listening)]

    async with run_worker(registry, {"test": 1}, settings):
        first = await wait_for(listeners)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (first[0],))
        await wait_for(lambda: (now := listeners()) and now != first)
        await manager.add_job("test", "after-reconnect", {})
        # With a 30 s poll, only a re-opened LISTEN explains this.
        await wait_for(lambda: started, timeout=5)


async def test_failure_is_recorded_once_the_database_accepts_it(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """
            CREATE TABLE refuse_failures (on_ boolean);
            INSERT INTO refuse_failures VALUES (true);
            CREATE FUNCTION refuse_failure() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.failed_reason IS NOT NULL AND EXISTS (SELECT 1 FROM refuse_failures)
                THEN RAISE EXCEPTION 'database refuses the write'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_failure BEFORE UPDATE ON pgqueue_jobs
                FOR EACH ROW EXECUTE FUNCTION refuse_failure();
            """
        )
    registry = Registry()
    calls: list[int] = []

    def boom(job: RunningJob) -> None:
        calls.append(job.attempts_made)
        raise ValueError("broken")

    registry.add("test", "*", boom)
    job = await manager.add_job("test", "x", {}, attempts=1)
    async with run_worker(registry, {"test": 1}):
        await wait_for(lambda: calls)
        await asyncio.sleep(0.3)  # several refused writes while the job stays leased
        still = await manager.get_job("test", job.id)
        assert still is not None and still.state is JobState.ACTIVE
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("DELETE FROM refuse_failures")
        failed = await wait_for(lambda: finished(manager, "test", job.id))
    assert failed.state is JobState.FAILED and failed.failed_reason == "broken"
    assert calls == [1]


async def test_jobs_of_a_claim_whose_answer_was_lost_are_put_back(
    manager: JobQueueManager, run_worker: RunWorker, db_url: str
) -> None:
    registry = Registry()
    ran: list[int] = []
    registry.add("test", "*", lambda job: ran.append(job.attempts_made))
    await manager.pause_queue("test")
    job = await manager.add_job("test", "x", {})
    async with run_worker(registry, {"test": 1}) as worker:
        # A claim that committed on the server but whose answer never reached the
        # worker: the job is leased to a live worker that does not know it has it.
        lost = ops.claim("test", 1, worker.id)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE pgqueue_queues SET paused = false")
            execute(conn, lost)
        worker.pools["test"]._lost_claims.add(lost.params["lease"])
        await manager.resume_queue("test")
        done = await wait_for(lambda: finished(manager, "test", job.id))
    assert done.state is JobState.COMPLETED
    assert ran == [1] and done.attempts_made == 1


async def test_only_the_claim_skips_the_wal_flush(manager: JobQueueManager, db_url: str) -> None:
    """A claim commits without waiting for the flush; the setting is the claim's own, so
    the outcome written next on the same connection waits for it as usual."""
    job = await manager.add_job("test", "flush", {})
    with psycopg.connect(db_url, autocommit=True) as conn:
        [(claimed, lease)] = execute(conn, ops.claim("test", 1, uuid.uuid4()))
        assert claimed.id == job.id
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        with conn.transaction():
            execute(conn, ops.claim("test", 1, uuid.uuid4()))
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        assert execute(conn, ops.complete([(int(job.id), lease, "1")])).ids == {int(job.id)}
    done = await manager.get_job("test", job.id)
    assert done is not None and done.state is JobState.COMPLETED and done.return_value == 1
