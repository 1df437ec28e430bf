"""Waiting for a job to end: LISTEN on the finished channel, register, then read the job.

Final failures and cancellations each send one NOTIFY naming the queue; a completion
batch sends one only when someone has registered a wait for one of its jobs (a NOTIFY
serialises commits; see migration 0013). A waiter listens first, then registers the job
while reading it `FOR SHARE` (`watch_job`), so a job that ends at any moment around
these steps is still seen; each notification for its queue makes it read the job again,
by primary key. It removes its registration when it stops waiting. No polling, unless
LISTEN cannot work (behind a transaction pooler with no direct URL): then `poll_async`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

import psycopg
from psycopg import AsyncConnection, Connection

from pgqueue.errors import JobNotFoundError
from pgqueue.models import Job, JobState
from pgqueue.store import aio, feature_ops, sync
from pgqueue.store.notify import FINISHED_CHANNEL

FINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})


def _outcome(queue: str, job_id: str | int, job: Job | None) -> Job | None:
    if job is None:
        raise JobNotFoundError(f"job {job_id} not found in queue {queue!r}")
    return job if job.state in FINAL_STATES else None


def _timed_out(queue: str, job_id: str | int, timeout: float) -> TimeoutError:
    return TimeoutError(f"job {job_id} in queue {queue!r} did not finish within {timeout} s")


async def wait_async(
    listen_url: str,
    read: Callable[[], Awaitable[Job | None]],
    queue: str,
    job_id: str | int,
    timeout: float,
) -> Job:
    """`read()` fetches the job; returns it once it is completed, failed or cancelled."""
    deadline = time.monotonic() + timeout
    conn = await AsyncConnection.connect(listen_url, autocommit=True)
    async with conn:
        await conn.execute(f"LISTEN {FINISHED_CHANNEL}")
        first = await read()
        done = _outcome(queue, job_id, first)
        if done is not None:
            return done
        assert first is not None  # `_outcome` raised for a missing job
        watched = int(first.id)
        try:
            ended = await aio.execute(conn, feature_ops.watch_job(watched))
            while True:
                if ended:
                    done = _outcome(queue, job_id, await read())
                    if done is not None:
                        return done
                ended = True
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _timed_out(queue, job_id, timeout)
                    heard = [n async for n in conn.notifies(timeout=remaining, stop_after=1)]
                    if any(queue in n.payload.split(" ") for n in heard):
                        break
        finally:
            # A lost connection takes its registration's use with it; the row itself is
            # pruned by the maintenance pass.
            with suppress(psycopg.Error):
                await aio.execute(conn, feature_ops.unwatch_job(watched))


def wait_sync(
    listen_url: str,
    read: Callable[[], Job | None],
    queue: str,
    job_id: str | int,
    timeout: float,
) -> Job:
    """Blocking twin of `wait_async`."""
    deadline = time.monotonic() + timeout
    with Connection.connect(listen_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {FINISHED_CHANNEL}")
        first = read()
        done = _outcome(queue, job_id, first)
        if done is not None:
            return done
        assert first is not None  # `_outcome` raised for a missing job
        watched = int(first.id)
        try:
            ended = sync.execute(conn, feature_ops.watch_job(watched))
            while True:
                if ended:
                    done = _outcome(queue, job_id, read())
                    if done is not None:
                        return done
                ended = True
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _timed_out(queue, job_id, timeout)
                    heard = list(conn.notifies(timeout=remaining, stop_after=1))
                    if any(queue in n.payload.split(" ") for n in heard):
                        break
        finally:
            with suppress(psycopg.Error):
                sync.execute(conn, feature_ops.unwatch_job(watched))


async def poll_async(
    read: Callable[[], Awaitable[Job | None]],
    queue: str,
    job_id: str | int,
    timeout: float,
    interval: float,
) -> Job:
    """`wait_async` without LISTEN (behind a transaction pooler with no direct URL):
    reads the job every `interval` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done = _outcome(queue, job_id, await read())
        if done is not None:
            return done
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(queue, job_id, timeout)
        await asyncio.sleep(min(interval, remaining))


def poll_sync(
    read: Callable[[], Job | None],
    queue: str,
    job_id: str | int,
    timeout: float,
    interval: float,
) -> Job:
    """Blocking twin of `poll_async`."""
    deadline = time.monotonic() + timeout
    while True:
        done = _outcome(queue, job_id, read())
        if done is not None:
            return done
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(queue, job_id, timeout)
        time.sleep(min(interval, remaining))
