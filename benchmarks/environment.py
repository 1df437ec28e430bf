"""Where the benchmark runs: a fresh, migrated database, and the worker process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pgqueue.db import migrate
from pgqueue.db.urls import libpq_url

READY_TIMEOUT = 30.0


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """`DATABASE_URL`'s server if set, else an embedded one in a temporary directory."""
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        yield libpq_url(explicit)
        return
    from pgqueue.db.embedded import temporary_embedded

    with temporary_embedded("pgqueue-bench-") as url:
        yield url


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(path=f"/{dbname}"))


@contextlib.contextmanager
def fresh_database(server: str, suffix: str = "") -> Iterator[str]:
    """A database of our own next to the server's default one, dropped afterwards;
    `suffix` tells apart two of one run."""
    name = f"pgqueue_bench_{os.getpid()}{suffix}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def worker_process(
    url: str, queue: str, concurrency: int, profile: str | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m benchmarks.worker` on `queue`, from its `ready` line to a clean stop."""
    args = [
        sys.executable,
        *os.environ.get("BENCH_WORKER_SCRIPT", "-m benchmarks.worker").split(),
        url,
        queue,
        str(concurrency),
    ]
    if profile:
        args += ["--profile", profile]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        if line.strip() != b"ready":
            raise RuntimeError(f"the benchmark worker did not start (exit {proc.returncode})")
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), READY_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
