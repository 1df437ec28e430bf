"""Fixtures: a real PostgreSQL for every test that claims queue behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from pgqueue import JobQueueManager, SyncJobQueueManager
from pgqueue.config import Settings
from pgqueue.registry import Registry
from pgqueue.worker import Worker
from tests.api_support import api
from tests.cli_support import cli
from tests.dashboard_support import browser, chromium, tokens
from tests.database import Databases, server_url, with_database
from tests.helpers import ROOT, RunWorker, free_port, pgqueue_process, wait_for

# Fixtures shared by several test modules are defined in the *_support modules and
# registered here. Older tests import the helpers from here; new ones from tests.helpers.
__all__ = [
    "ROOT",
    "RunWorker",
    "api",
    "browser",
    "chromium",
    "cli",
    "free_port",
    "pgqueue_process",
    "tokens",
    "wait_for",
]


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    with server_url() as url:
        dbs = Databases(url)
        yield dbs
        dbs.close()


@pytest.fixture
def db_url(databases: Databases) -> Iterator[str]:
    """A freshly migrated database of its own for this test."""
    name = databases.create()
    yield with_database(databases.url, name)
    databases.drop(name)


@pytest.fixture
def empty_db_url(databases: Databases) -> Iterator[str]:
    """A database of its own with no schema yet."""
    name = databases.create_empty()
    yield with_database(databases.url, name)
    databases.drop(name)


@pytest.fixture
def settings() -> Settings:
    """Fast timings, so that rescue and polling tests take seconds, not minutes."""
    return Settings(lease_seconds=2.0, heartbeat_seconds=0.5, poll_interval=0.2, shutdown_grace=5.0)


@pytest.fixture
async def manager(db_url: str, settings: Settings) -> AsyncIterator[JobQueueManager]:
    async with JobQueueManager(db_url, settings=settings, registry=Registry()) as m:
        yield m


@pytest.fixture
def sync_manager(db_url: str, settings: Settings) -> Iterator[SyncJobQueueManager]:
    with SyncJobQueueManager(db_url, settings=settings, registry=Registry()) as m:
        yield m


@pytest.fixture
def run_worker(db_url: str, settings: Settings) -> RunWorker:
    """`async with run_worker(registry, {"queue": concurrency}) as worker:` runs a worker
    in this event loop and stops it gracefully on exit."""

    @asynccontextmanager
    async def start(
        registry: Registry, queues: dict[str, int], worker_settings: Settings | None = None
    ) -> AsyncIterator[Worker]:
        worker = Worker(db_url, queues, registry, worker_settings or settings)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        ready = asyncio.create_task(worker.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        try:
            yield worker
        finally:
            stop.set()
            await task

    return start
