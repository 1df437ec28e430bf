"""Everything works through PgBouncer in transaction mode (`PGQUEUE_PGBOUNCER=true`).

A transaction pooler hands each transaction to whichever server session is free, so a
statement prepared in one transaction is missing (or a different one) in the next:
psycopg prepares a statement it has run five times, which is why each test below runs
the same statements many more times than that. What needs a session goes to
`PGQUEUE_DIRECT_URL`; without it workers poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from pgqueue import JobQueueManager, SyncJobQueueManager
from pgqueue.config import Settings
from pgqueue.db import migrate
from pgqueue.processors import register_builtins
from pgqueue.registry import Registry
from pgqueue.scheduler import Scheduler
from pgqueue.worker import Worker
from tests.dashboard_support import client_for, create_tokens, sign_in
from tests.database import Databases, with_database
from tests.helpers import wait_for
from tests.pgbouncer import pgbouncer


@pytest.fixture(scope="module")
def bouncer(databases: Databases) -> Iterator[str]:
    with pgbouncer(databases.url) as template:
        yield template


@pytest.fixture
def bouncer_url(bouncer: str, db_url: str) -> str:
    return bouncer.format(db=conninfo_to_dict(db_url)["dbname"])


@pytest.fixture
def pooled(settings: Settings) -> Settings:
    """Transaction-pooler mode with no direct URL: no LISTEN, workers poll."""
    return replace(settings, pgbouncer=True, direct_url=None)


@asynccontextmanager
async def working(url: str, registry: Registry, settings: Settings) -> AsyncIterator[Worker]:
    worker = Worker(url, {"email": 5}, registry, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await wait_for(lambda: worker.ready.is_set() or task.done())
    if task.done():
        task.result()
    try:
        yield worker
    finally:
        stop.set()
        await task


def recording_registry(done: list[int]) -> Registry:
    registry = Registry()

    def send(job: object) -> int:
        value: int = job.data["i"]  # type: ignore[attr-defined]
        done.append(value)
        return value

    registry.add("email", "send", send)
    return registry


async def test_enqueue_work_and_inspect_through_the_pooler(
    bouncer_url: str, pooled: Settings
) -> None:
    done: list[int] = []
    async with JobQueueManager(bouncer_url, settings=pooled, registry=Registry()) as manager:
        for i in range(20):
            await manager.add_job("email", "send", {"i": i}, remove_on_complete=False)
        await manager.add_bulk(
            "email",
            [
                {"name": "send", "data": {"i": i}, "opts": {"remove_on_complete": False}}
                for i in range(20, 300)
            ],
        )
        async with working(bouncer_url, recording_registry(done), pooled):

            async def all_completed() -> bool:
                return (await manager.get_queue_stats("email"))["completed"] == 300

            await wait_for(all_completed, timeout=60)
        for i in range(10):
            assert (await manager.get_job("email", str(i + 1))) is not None
        assert (await manager.get_queue_stats("email"))["active"] == 0
    assert sorted(done) == list(range(300))


def test_enqueue_in_the_callers_transaction_through_the_pooler(
    bouncer_url: str, pooled: Settings
) -> None:
    with (
        SyncJobQueueManager(bouncer_url, settings=pooled, registry=Registry()) as manager,
        psycopg.connect(bouncer_url) as conn,
    ):
        conn.execute("CREATE TABLE orders (id int)")
        conn.commit()
        for i in range(10):
            with conn.transaction():
                conn.execute("INSERT INTO orders VALUES (%s)", (i,))
                manager.add_job("email", "receipt", {"order": i}, connection=conn)
        for i in range(10, 20):
            with pytest.raises(ZeroDivisionError), conn.transaction():
                manager.add_job("email", "receipt", {"order": i}, connection=conn)
                raise ZeroDivisionError
        assert manager.get_queue_stats("email")["waiting"] == 10
        orders = conn.execute("SELECT count(*) FROM orders").fetchone()
        assert orders == (10,)


async def test_listen_goes_to_the_direct_url(
    bouncer_url: str, db_url: str, pooled: Settings
) -> None:
    """With a poll interval of a minute, only NOTIFY (on the direct connection) can get
    a job added to an idle worker started within the test's deadline."""
    done: list[int] = []
    direct = replace(pooled, direct_url=db_url, poll_interval=60.0)
    async with (
        JobQueueManager(bouncer_url, settings=direct, registry=Registry()) as manager,
        working(bouncer_url, recording_registry(done), direct),
    ):
        await asyncio.sleep(0)  # the worker's first claim finds nothing and goes idle
        for i in range(8):
            await manager.add_job("email", "send", {"i": i})
        await wait_for(lambda: len(done) == 8, timeout=20)


async def test_scheduler_fires_through_the_pooler(bouncer_url: str, pooled: Settings) -> None:
    async with JobQueueManager(bouncer_url, settings=pooled, registry=Registry()) as manager:
        await manager.add_repeating_job("report", "tick", {}, "* * * * * *")
        scheduler = Scheduler(bouncer_url, pooled, poll_interval=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        try:

            async def fired_six() -> bool:
                stats = await manager.get_queue_stats("report")
                return stats["waiting"] >= 6

            await wait_for(fired_six, timeout=30)
        finally:
            stop.set()
            await task


async def test_api_and_dashboard_through_the_pooler(
    bouncer_url: str, db_url: str, pooled: Settings
) -> None:
    tokens = await create_tokens(db_url)
    async with JobQueueManager(bouncer_url, settings=pooled, registry=Registry()) as manager:
        await manager.add_job("email", "send", {"i": 1})
        async with client_for(manager) as client:
            headers = {"Authorization": f"Bearer {tokens['ops-admin']}"}
            for _ in range(10):
                stats = await client.get("/api/v1/jobs/queues/email/stats", headers=headers)
                assert stats.status_code == 200, stats.text
                assert stats.json()["data"]["waiting"] == 1
            await sign_in(client, tokens["ops-admin"])
            for _ in range(10):
                page = await client.get("/admin/queues/email")
                assert page.status_code == 200, page.text
            assert (await client.get("/readyz")).status_code == 200


def test_migrations_run_through_the_pooler(databases: Databases, bouncer: str) -> None:
    name = f"pgqueue_bouncer_migrate_{time.monotonic_ns()}"
    with psycopg.connect(databases.url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = bouncer.format(db=name)
        migrate.upgrade(url)
        migrate.upgrade(url)
        assert migrate.current_revision(url) == migrate.head_revision()
        assert migrate.current_revision(with_database(databases.url, name)) == (
            migrate.head_revision()
        )
    finally:
        databases.drop(name)


async def test_report_and_cleanup_jobs_through_the_pooler(
    bouncer_url: str, pooled: Settings, tmp_path: Path
) -> None:
    """The built-in processors open connections of their own; those must not prepare
    statements or send startup options PgBouncer refuses either."""
    settings = replace(pooled, artifacts_dir=tmp_path / "artifacts", temp_dir=tmp_path / "tmp")
    registry = Registry()
    register_builtins(registry)
    async with JobQueueManager(bouncer_url, settings=settings, registry=Registry()) as manager:
        jobs = [await manager.add_report_job("analytics", {}, attempts=1) for _ in range(3)]
        jobs += [await manager.add_cleanup_job("expired-tokens", attempts=1) for _ in range(3)]
        worker = Worker(bouncer_url, {"report": 1, "cleanup": 1}, registry, settings)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:

            async def all_finished() -> bool:
                found = [await manager.get_job(j.queue, j.id) for j in jobs]
                return all(
                    f is not None and f.state.value in ("completed", "failed") for f in found
                )

            await wait_for(all_finished, timeout=60)
        finally:
            stop.set()
            await task
        for job in jobs:
            done = await manager.get_job(job.queue, job.id)
            assert done is not None and done.state.value == "completed", done


async def test_wait_for_job_through_the_pooler(bouncer_url: str, pooled: Settings) -> None:
    """With no direct URL there is no LISTEN: waiting reads the job every poll interval."""
    done: list[int] = []
    async with JobQueueManager(bouncer_url, settings=pooled, registry=Registry()) as manager:
        job = await manager.add_job("email", "send", {"i": 7})
        async with working(bouncer_url, recording_registry(done), pooled):
            finished = await manager.wait_for_job("email", job.id, 30)
        assert finished.state.value == "completed"
        assert finished.return_value == 7
