"""Processors for tests that run the real `pgqueue worker` in a subprocess.

Each run is recorded in a `test_runs` table, so a test can count how often each job ran
and in which process.
"""

from __future__ import annotations

import asyncio
import os

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
