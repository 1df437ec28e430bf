"""Backpressure: a worker whose completion writes lag stops claiming, and loses nothing."""

from __future__ import annotations

import collections
import logging

import psycopg
import pytest

from pgqueue import JobQueueManager, RunningJob
from pgqueue.registry import Registry
from tests.helpers import RunWorker, wait_for

LOCK = 4242

# Every completion waits for an advisory lock the test holds: the writes lag on demand.
HOLD_COMPLETIONS = f"""
CREATE FUNCTION test_hold_completions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'completed' THEN
        PERFORM pg_advisory_xact_lock_shared({LOCK});
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER test_hold_completions BEFORE UPDATE ON pgqueue_jobs
FOR EACH ROW EXECUTE FUNCTION test_hold_completions();
"""

COUNTS = """
SELECT count(*) FILTER (WHERE state = 'waiting') AS waiting,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE state = 'completed') AS completed
FROM pgqueue_jobs
"""


def paused_lines(caplog: pytest.LogCaptureFixture) -> int:
    return sum(getattr(r, "action", None) == "claims_paused" for r in caplog.records)


async def test_claims_stop_while_completion_writes_lag_and_nothing_is_lost(
    manager: JobQueueManager,
    run_worker: RunWorker,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pgqueue")
    ran: collections.Counter[str] = collections.Counter()

    async def noop(job: RunningJob) -> None:
        ran[job.id] += 1

    registry = Registry()
    registry.add("test", "noop", noop)
    jobs = await manager.add_bulk("test", [{"name": "noop", "data": {"n": i}} for i in range(60)])
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute(HOLD_COMPLETIONS)
        admin.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
        async with run_worker(registry, {"test": 4}) as worker:
            try:
                limit = 2 * 4
                await wait_for(lambda: paused_lines(caplog) > 0)
                # The worker holds exactly its limit: run, unrecorded, and no more claimed.
                await wait_for(lambda: sum(ran.values()) == limit)
                held = admin.execute(COUNTS).fetchone()
                assert held == (60 - limit, limit, 0)
                # A new job wakes the pool (NOTIFY), and polling goes on: still no claim.
                late = await manager.add_job("test", "noop", {"n": "late"})
                with pytest.raises(AssertionError):
                    await wait_for(lambda: sum(ran.values()) > limit, timeout=1.0)
                assert admin.execute(COUNTS).fetchone() == (61 - limit, limit, 0)
                assert paused_lines(caplog) == 1
                assert worker.pools["test"].running == {}

                admin.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
                await wait_for(lambda: admin.execute(COUNTS).fetchone() == (0, 0, 61), timeout=30)
            finally:
                # A failure above must not leave the worker's shutdown waiting on the lock.
                admin.execute("SELECT pg_advisory_unlock_all()")
    assert set(ran) == {j.id for j in jobs} | {late.id}
    assert set(ran.values()) == {1}
    assert any(getattr(r, "action", None) == "claims_resumed" for r in caplog.records)
