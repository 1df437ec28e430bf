"""A single `add_job` is one round trip to the server, in its own transaction or in the
caller's, with or without a `job_id`.

Counted in libpq's own trace of the protocol: the server ends every exchange the client
waits for with one ReadyForQuery (after a Sync, or a simple query), so the number of
ReadyForQuery messages is the number of round trips.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
import pytest
from psycopg.pq import Trace
from psycopg.pq.abc import PGconn

from pgqueue import JobQueueManager, SyncJobQueueManager
from pgqueue.config import Settings
from pgqueue.registry import Registry


@contextmanager
def protocol(pgconn: PGconn) -> Iterator[list[str]]:
    """The protocol messages of `pgconn` while the block runs, as "F Parse", "B
    ReadyForQuery", "B CommandComplete SAVEPOINT" and so on (F: from the client, B:
    from the server)."""
    messages: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            yield messages
        finally:
            pgconn.untrace()
            trace.seek(0)
            for line in trace:
                fields = line.split("\t")
                if len(fields) > 2 and fields[0] in ("F", "B") and fields[1].isdigit():
                    message = f"{fields[0]} {fields[2].strip()}"
                    if message == "B CommandComplete":  # with its tag: SAVEPOINT, INSERT 0 1
                        message += " " + fields[3].strip().strip('"')
                    messages.append(message)


def round_trips(messages: list[str]) -> int:
    return messages.count("B ReadyForQuery")


@pytest.fixture
async def one_connection_manager(db_url: str, settings: Settings) -> AsyncIterator[JobQueueManager]:
    """A manager whose pool holds one connection, so that it is the one traced."""
    async with JobQueueManager(db_url, settings=settings, registry=Registry(), pool_size=1) as m:
        yield m


@asynccontextmanager
async def pool_protocol(manager: JobQueueManager) -> AsyncIterator[list[str]]:
    store = await manager._open()  # the manager's own pool, with its one connection
    async with store.pool.connection() as conn:
        pgconn = conn.pgconn
    with protocol(pgconn) as messages:
        yield messages


async def test_add_job_in_its_own_transaction_is_one_round_trip(
    one_connection_manager: JobQueueManager,
) -> None:
    manager = one_connection_manager
    await manager.add_job("email", "warm-up")  # the pool's first borrow
    async with pool_protocol(manager) as plain:
        first = await manager.add_job("email", "plain", {"n": 1})
    async with pool_protocol(manager) as keyed:
        keyed_job = await manager.add_job("email", "keyed", {"n": 2}, job_id="order-7")
    async with pool_protocol(manager) as again:
        same = await manager.add_job("email", "keyed", {"n": 3}, job_id="order-7")
    assert (round_trips(plain), round_trips(keyed), round_trips(again)) == (1, 1, 1)
    assert (first.inserted, keyed_job.inserted, same.inserted) == (True, True, False)
    assert same.id == keyed_job.id and same.data == {"n": 2}
    assert await manager.get_job("email", first.id) == first


async def test_add_job_in_the_callers_transaction_is_one_round_trip(
    manager: JobQueueManager, db_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await conn.execute("CREATE TABLE orders (id int)")
        await conn.execute("INSERT INTO orders VALUES (1)")  # the caller's own work
        with protocol(conn.pgconn) as plain:
            first = await manager.add_job("email", "receipt", {"order": 1}, connection=conn)
        with protocol(conn.pgconn) as keyed:
            keyed_job = await manager.add_job("email", "r", {}, job_id="o-1", connection=conn)
        with protocol(conn.pgconn) as again:
            same = await manager.add_job("email", "r", {"x": 1}, job_id="o-1", connection=conn)
        assert (round_trips(plain), round_trips(keyed), round_trips(again)) == (1, 1, 1)
        # Still behind a savepoint, in the same pipeline: our error never poisons the
        # caller's transaction.
        assert [m for m in plain if m.endswith(("SAVEPOINT", "RELEASE"))] == [
            "B CommandComplete SAVEPOINT",
            "B CommandComplete RELEASE",
        ]
        assert await manager.get_job("email", first.id) is None  # not committed yet
        await conn.commit()
    assert (keyed_job.inserted, same.inserted, same.id) == (True, False, keyed_job.id)
    assert await manager.get_job("email", first.id) == first


def test_blocking_twin_is_one_round_trip_too(
    sync_manager: SyncJobQueueManager, db_url: str
) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT 1")  # the caller's transaction has begun
        with protocol(conn.pgconn) as messages:
            job = sync_manager.add_job("email", "receipt", {}, job_id="k", connection=conn)
        assert round_trips(messages) == 1
        conn.commit()
    stored = sync_manager.get_job("email", "k")
    assert stored is not None and stored.id == job.id


async def test_a_failed_add_job_rolls_back_to_its_savepoint(
    manager: JobQueueManager, db_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await conn.execute("CREATE TABLE orders (id int)")
        await conn.execute("ALTER TABLE pgqueue_jobs ADD CONSTRAINT no_boom CHECK (name <> 'boom')")
        await conn.commit()
        await conn.execute("INSERT INTO orders VALUES (1)")
        with pytest.raises(psycopg.errors.CheckViolation):
            await manager.add_job("email", "boom", {}, connection=conn)
        kept = await manager.add_job("email", "fine", {}, connection=conn)
        await conn.execute("INSERT INTO orders VALUES (2)")
        await conn.commit()
        cur = await conn.execute("SELECT count(*) FROM orders")
        counted: Any = await cur.fetchone()
    assert counted == (2,)
    names = [j.name for j in await manager.get_jobs("email", "waiting")]
    assert names == ["fine"] and kept.inserted


async def test_a_copied_bulk_is_three_round_trips(
    one_connection_manager: JobQueueManager,
) -> None:
    """BEGIN with the ids' reservation, the COPY, the wake-up with COMMIT."""
    manager = one_connection_manager
    items = [{"name": "n", "data": {"i": i}} for i in range(1_000)]
    await manager.add_bulk("email", items)  # the pool's first borrow
    async with pool_protocol(manager) as messages:
        jobs = await manager.add_bulk("email", items)
    assert round_trips(messages) == 3
    assert "F CopyData" in messages and "B CommandComplete COMMIT" in messages
    assert len(jobs) == 1_000 and await manager.get_job("email", jobs[-1].id) == jobs[-1]
