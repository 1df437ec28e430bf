"""Processors for tests that run the real `pgqueue worker` in a subprocess.

Each run is recorded in a `test_runs` table, so a test can count how often each job ran
and in which process.
"""

from __future__ import annotations

import asyncio
import os
import time

import psycopg

import pgqueue

RUNS_DDL = "CREATE TABLE IF NOT EXISTS test_runs (job_id bigint, pid int, attempt int)"


def record_run(job: pgqueue.RunningJob) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO test_runs (job_id, pid, attempt) VALUES (%s, %s, %s)",
            (int(job.id), os.getpid(), job.attempts_made),
        )


@pgqueue.processor("test", "record")
def record(job: pgqueue.RunningJob) -> int:
    record_run(job)
    return os.getpid()


@pgqueue.processor("test", "slow")
async def slow(job: pgqueue.RunningJob) -> str:
    """Sleeps on its first attempt only, so a rescued retry finishes at once."""
    await asyncio.to_thread(record_run, job)
    if job.attempts_made == 1 or job.data.get("always"):
        await asyncio.sleep(job.data["seconds"])
    return f"done on attempt {job.attempts_made}"


TIMINGS_DDL = (
    "CREATE TABLE IF NOT EXISTS test_timings "
    "(job_id bigint, pid int, started timestamptz, ended timestamptz, outcome text)"
)


def record_timing(job: pgqueue.RunningJob, started: float, ended: float, outcome: str) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "INSERT INTO test_timings VALUES (%s, %s, to_timestamp(%s), to_timestamp(%s), %s)",
            (int(job.id), os.getpid(), started, ended, outcome),
        )


@pgqueue.processor("test", "timed")
async def timed(job: pgqueue.RunningJob) -> int:
    """Runs `seconds`, recording when it started and ended (or that it was cancelled)."""
    started = time.time()
    try:
        await asyncio.sleep(job.data.get("seconds", 0))
    except asyncio.CancelledError:
        await asyncio.to_thread(record_timing, job, started, time.time(), "cancelled")
        raise
    await asyncio.to_thread(record_timing, job, started, time.time(), "completed")
    return os.getpid()


@pgqueue.processor("test", "polite")
def polite(job: pgqueue.RunningJob) -> str:
    """A blocking processor that stops once its job is cancelled."""
    started = time.time()
    deadline = started + job.data.get("seconds", 30)
    while time.time() < deadline and not job.cancel_requested:
        time.sleep(0.01)
    record_timing(job, started, time.time(), "stopped" if job.cancel_requested else "ran out")
    return "stopped"


@pgqueue.processor("test", "gather")
async def gather(job: pgqueue.RunningJob) -> dict[str, object]:
    """A flow parent: hands on what its children returned."""
    values = await job.children_values()
    return {"children": len(values), "values": values}
