"""PgQueuer on the same server, for comparison:
`python -m benchmarks.peer URL JOBS BATCH [ENQUEUE_JOBS]`.

Runs in its own process, as pgqueue's benchmark worker does, and prints one JSON line:
its enqueue rate (`Queries.enqueue` of `ENQUEUE_JOBS` jobs, default `JOBS`, in lists
of `BATCH`, its bulk call; the queue is emptied and vacuumed after it) and its
drain rate at batch 100 (its best setting) with no cap on jobs in flight, no-op async
entrypoint, until its queue table is empty, plus this process's CPU per job meanwhile
(its polling probe included, a few µs per job at most).
PgQueuer and asyncpg, its usual driver (its own benchmark's default), come from the
optional `bench` extra.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import psycopg

DRAIN_BATCH = 100
POLL = 0.005
CONCURRENCY = None  # its default; a cap must be at least twice the batch


async def enqueue(queries: Any, jobs: int, batch: int) -> None:
    for start in range(0, jobs, batch):
        n = min(batch, jobs - start)
        await queries.enqueue(["noop"] * n, [None] * n, [0] * n)


async def measure(url: str, jobs: int, batch: int, enqueue_jobs: int) -> dict[str, float]:
    import asyncpg
    from pgqueuer import PgQueuer
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.models import Job
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    conn = await asyncpg.connect(url)
    try:
        driver = AsyncpgDriver(conn)
        queries = Queries(driver)
        if not await queries.schema_is_installed():
            await queries.install()
        await queries.clear_queue(None)
        # As pgqueue's table is before each of its stages (`stages.clear`): no dead rows
        # from the round before.
        await conn.execute("VACUUM ANALYZE pgqueuer")
        started = time.perf_counter()
        await enqueue(queries, enqueue_jobs, batch)
        enqueue_rate = enqueue_jobs / (time.perf_counter() - started)
        await queries.clear_queue(None)
        await conn.execute("VACUUM ANALYZE pgqueuer")
        await enqueue(queries, jobs, batch)

        pgq = PgQueuer(driver)

        @pgq.entrypoint("noop")
        async def noop(job: Job) -> None:
            return None

        probe = await psycopg.AsyncConnection.connect(url, autocommit=True)
        cpu = time.process_time()
        started = time.perf_counter()
        running = asyncio.create_task(
            pgq.run(
                batch_size=DRAIN_BATCH,
                max_concurrent_tasks=CONCURRENCY,
                mode=QueueExecutionMode.drain,
            )
        )
        # Its drain mode notices an empty queue only after a while; the clock stops when
        # the last job is gone from its table, as pgqueue's stops at the last record.
        while not running.done():
            cur = await probe.execute("SELECT EXISTS (SELECT 1 FROM pgqueuer) AS left")
            row = await cur.fetchone()
            if row is not None and not row[0]:
                break
            await asyncio.sleep(POLL)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        pgq.shutdown.set()
        await running
        await probe.close()
        await queries.clear_statistics_log(None)
        return {
            "enqueue_rate": enqueue_rate,
            "drain_rate": jobs / elapsed,
            "drain_cpu_us": cpu * 1e6 / jobs,
        }
    finally:
        await conn.close()


def main() -> None:
    url, jobs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    enqueue_jobs = int(sys.argv[4]) if len(sys.argv) > 4 else jobs
    print(json.dumps(asyncio.run(measure(url, jobs, batch, enqueue_jobs))), flush=True)


if __name__ == "__main__":
    main()
