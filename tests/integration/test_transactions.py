"""Transactional enqueue: the job exists exactly when the caller's transaction commits."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from pgqueue import InvalidJobError, JobQueueManager, SyncJobQueueManager
from pgqueue.db.urls import sqlalchemy_url


@pytest.fixture
def orders_table(db_url: str) -> Iterator[None]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, note text)")
        # A real database error raised inside pgqueue's own INSERT.
        conn.execute(
            """
            CREATE FUNCTION explode() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.name = 'explode' THEN RAISE EXCEPTION 'refused by trigger'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER explode BEFORE INSERT ON pgqueue_jobs
                FOR EACH ROW EXECUTE FUNCTION explode();
            """
        )
    yield


def count(db_url: str, sql: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


JOBS = "SELECT count(*) FROM pgqueue_jobs"
ORDERS = "SELECT count(*) FROM orders"


def test_sqlalchemy_session_commit_keeps_rollback_drops(
    db_url: str, sync_manager: SyncJobQueueManager, orders_table: None
) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    with Session(engine) as session:
        session.execute(text("INSERT INTO orders (note) VALUES ('rolled back')"))
        sync_manager.add_job("email", "receipt", {"order": 1}, connection=session)
        # Not visible to anyone else before the commit.
        assert count(db_url, JOBS) == 0
        session.rollback()
    assert count(db_url, JOBS) == 0 and count(db_url, ORDERS) == 0

    with Session(engine) as session:
        session.execute(text("INSERT INTO orders (note) VALUES ('kept')"))
        job = sync_manager.add_job("email", "receipt", {"order": 2}, connection=session)
        sync_manager.add_bulk("email", [{"name": "a"}, {"name": "b"}], connection=session)
        assert count(db_url, JOBS) == 0
        session.commit()
    assert count(db_url, JOBS) == 3 and count(db_url, ORDERS) == 1
    stored = sync_manager.get_job("email", job.id)
    assert stored is not None and stored.data == {"order": 2}
    engine.dispose()


def test_sqlalchemy_connection_and_psycopg_connection(
    db_url: str, sync_manager: SyncJobQueueManager, orders_table: None
) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    with engine.connect() as conn:
        sync_manager.add_job("email", "a", {}, connection=conn)
        conn.rollback()
    with engine.begin() as conn:
        sync_manager.add_job("email", "b", {}, connection=conn)
    engine.dispose()
    with psycopg.connect(db_url) as conn:
        sync_manager.add_job("email", "c", {}, connection=conn)
        conn.rollback()
        sync_manager.add_job("email", "d", {}, connection=conn)
        conn.commit()
    names = {j.name for j in sync_manager.get_jobs("email", "waiting")}
    assert names == {"b", "d"}


def test_our_error_does_not_poison_the_callers_transaction(
    db_url: str, sync_manager: SyncJobQueueManager, orders_table: None
) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    with Session(engine) as session:
        session.execute(text("INSERT INTO orders (note) VALUES ('still fine')"))
        with pytest.raises(psycopg.errors.RaiseException, match="refused by trigger"):
            sync_manager.add_job("email", "explode", {}, connection=session)
        with pytest.raises(InvalidJobError):
            sync_manager.add_job("email", "ok", object(), connection=session)
        sync_manager.add_job("email", "after", {}, connection=session)
        session.execute(text("INSERT INTO orders (note) VALUES ('and this')"))
        session.commit()
    engine.dispose()
    assert count(db_url, ORDERS) == 2
    assert [j.name for j in sync_manager.get_jobs("email", "waiting")] == ["after"]


async def test_async_sqlalchemy_session_and_psycopg_async(
    db_url: str, manager: JobQueueManager, orders_table: None
) -> None:
    engine = create_async_engine(sqlalchemy_url(db_url))
    async with AsyncSession(engine) as session:
        await session.execute(text("INSERT INTO orders (note) VALUES ('x')"))
        await manager.add_job("email", "rolled-back", {}, connection=session)
        await session.rollback()
    async with AsyncSession(engine) as session:
        await manager.add_job("email", "committed", {}, connection=session)
        with pytest.raises(psycopg.errors.RaiseException):
            await manager.add_job("email", "explode", {}, connection=session)
        await session.commit()
    await engine.dispose()
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        await manager.add_job("email", "raw-rolled-back", {}, connection=conn)
        await conn.rollback()
        await manager.add_job("email", "raw-committed", {}, connection=conn)
        await conn.commit()
    names = {j.name for j in await manager.get_jobs("email", "waiting")}
    assert names == {"committed", "raw-committed"}


def test_unsupported_connection_is_refused(sync_manager: SyncJobQueueManager) -> None:
    with pytest.raises(TypeError, match="connection= takes"):
        sync_manager.add_job("email", "x", {}, connection="postgresql://nope")
