"""Fixtures: a real PostgreSQL for every test that claims queue behaviour."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from pgqueue import JobQueueManager, SyncJobQueueManager
from pgqueue.config import Settings
from pgqueue.registry import Registry
from pgqueue.worker import Worker
from tests.database import Databases, server_url, with_database

ROOT = Path(__file__).resolve().parent.parent


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


RunWorker = Callable[..., Any]


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


async def wait_for(
    predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02
) -> Any:
    """Poll `predicate` (sync or async) until truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def pgqueue_process(
    args: list[str], db_url: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[str]:
    """The real CLI in a subprocess, against the test's database."""
    full_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PYTHONPATH": str(ROOT),
        "PGQUEUE_LOG_FORMAT": "json",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "pgqueue", *args],
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
