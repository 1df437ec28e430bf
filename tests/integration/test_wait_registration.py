"""`wait_for_job` registers the job it waits for; a completion batch notifies only then
(a NOTIFY serialises commits), and no completion slips between the two."""

from __future__ import annotations

import asyncio
import uuid

import psycopg

from pgqueue import JobQueueManager, JobState
from pgqueue.store import feature_ops, ops
from pgqueue.store.notify import FINISHED_CHANNEL
from pgqueue.store.sync import execute
from tests.helpers import wait_for


def claimed(conn: psycopg.Connection, job_id: str) -> uuid.UUID:
    [(job, lease)] = execute(conn, ops.claim("test", 1, uuid.uuid4()))
    assert job.id == job_id
    return lease


def first_heard(listener: psycopg.Connection) -> str:
    [heard] = list(listener.notifies(timeout=10, stop_after=1))
    return heard.payload


async def test_a_completion_notifies_only_jobs_someone_waits_for(
    manager: JobQueueManager, db_url: str
) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as listener,
        psycopg.connect(db_url, autocommit=True) as worker,
        psycopg.connect(db_url, autocommit=True) as waiter,
    ):
        listener.execute(f"LISTEN {FINISHED_CHANNEL}")
        alone = await manager.add_job("test", "alone", {})
        lease = claimed(worker, alone.id)
        assert execute(worker, ops.complete([(int(alone.id), lease, "1")])).ids == {int(alone.id)}
        # Had the completion notified, its notification would come before this one.
        worker.execute("SELECT pg_notify(%s, 'sentinel')", (FINISHED_CHANNEL,))
        assert first_heard(listener) == "sentinel"

        awaited = await manager.add_job("test", "awaited", {})
        assert execute(waiter, feature_ops.watch_job(int(awaited.id))) is False
        lease = claimed(worker, awaited.id)
        execute(worker, ops.complete([(int(awaited.id), lease, "2")]))
        assert first_heard(listener) == "test"

        # Its wait over, the waiter removes its registration: no notification again.
        execute(waiter, feature_ops.unwatch_job(int(awaited.id)))
        again = await manager.add_job("test", "again", {})
        lease = claimed(worker, again.id)
        execute(worker, ops.complete([(int(again.id), lease, "3")]))
        worker.execute("SELECT pg_notify(%s, 'sentinel')", (FINISHED_CHANNEL,))
        assert first_heard(listener) == "sentinel"


async def test_a_wait_that_starts_during_a_completion_sees_it(
    manager: JobQueueManager, db_url: str
) -> None:
    """The completion has looked for waiters and found none, but has not committed: the
    waiter's registration waits for that commit and then sees the job completed."""
    job = await manager.add_job("test", "racing", {})
    with psycopg.connect(db_url, autocommit=True) as worker:
        lease = claimed(worker, job.id)
        with worker.transaction():
            execute(worker, ops.complete([(int(job.id), lease, '"done"')]))
            waiting = asyncio.create_task(manager.wait_for_job("test", job.id, timeout=20))

            async def blocked_on_the_row() -> bool:
                with psycopg.connect(db_url, autocommit=True) as probe:
                    row = probe.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database() AND query LIKE %s",
                        ("%pgqueue_job_waiters%",),
                    ).fetchone()
                return row is not None and row[0] == 1

            await wait_for(blocked_on_the_row)
            assert not waiting.done()
        done = await asyncio.wait_for(waiting, 15)
    assert done.state is JobState.COMPLETED and done.return_value == "done"
