"""What many tests share: polling with a deadline, the CLI in a subprocess, a free port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgqueue import Job, JobQueueManager, JobState
from pgqueue.registry import Registry
from pgqueue.types import StatField

ROOT = Path(__file__).resolve().parent.parent

PLAIN_OPTIONS: dict[str, Any] = {
    "priority": 3,
    "attempts": 3,
    "backoff": {"type": "exponential", "delay": 2000},
    "delay": 0,
    "remove_on_complete": 100,
    "remove_on_fail": 500,
}
"""The options of a job added with none, in a queue of NORMAL priority: what a row that
stores `{}` reads back as. Written out here, not imported, so a change to the stored
format's defaults fails the tests."""

RunWorker = Callable[..., Any]
"""The `run_worker` fixture: `async with run_worker(registry, {"queue": n}) as worker:`."""


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server started in a subprocess."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


async def fail_one(manager: JobQueueManager, run_worker: RunWorker, queue: str = "email") -> str:
    registry = Registry()

    def boom(job: object) -> None:
        raise ValueError("SMTP connection timeout")

    registry.add(queue, "*", boom)
    job = await manager.add_job(queue, "welcome", {"to": "u@example.com"}, attempts=1)
    async with run_worker(registry, {queue: 1}):
        await wait_for(lambda: job_in(manager, queue, job.id, JobState.FAILED))
    return job.id


async def job_in(
    manager: JobQueueManager, queue: str, job_id: str, *states: JobState
) -> Job | None:
    """The job once it is in one of `states`, else None: a predicate for `wait_for`."""
    job = await manager.get_job(queue, job_id)
    return job if job is not None and job.state in states else None


async def finished(manager: JobQueueManager, queue: str, job_id: str) -> Job | None:
    """The job once it has completed or failed, else None."""
    return await job_in(manager, queue, job_id, JobState.COMPLETED, JobState.FAILED)


async def stat_is(manager: JobQueueManager, queue: str, field: StatField, n: int) -> bool:
    """The queue's count of `field` (waiting, completed, ...) is `n`."""
    return (await manager.get_queue_stats(queue))[field] == n
