"""Each stage measures one number once; `__main__` repeats them and summarises."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from benchmarks import cpu, sql
from pgqueue import JobQueueManager
from pgqueue.config import Settings
from pgqueue.manager.worker_service import PRUNE_BATCH, WorkerService
from pgqueue.registry import Registry
from pgqueue.store import ops
from pgqueue.store.aio import AsyncStore, execute
from pgqueue.worker import Worker

DRAIN_QUEUE = "bench"
DRAIN_DEADLINE = 120.0
POLL = 0.005


@dataclass
class Bench:
    url: str
    manager: JobQueueManager
    probe: AsyncConnection[DictRow]
    jobs: int
    batch: int
    worker_pids: frozenset[int] = frozenset()
    poller: AsyncConnection[DictRow] | None = None
    """Asks every few ms whether a drain is done, on a connection of its own that never
    scans the table whole: its plan is kept after a few polls, and a plan made while the
    table was near empty, or from statistics that saw few held jobs, scanned it whole
    at every poll once it held a drain's rows and their dead versions (50 ms a poll on a
    table of 60 MB, a core of the server's two taken from what was measured)."""

    async def poll(self, query: str, queue: str) -> DictRow | None:
        if self.poller is None:
            self.poller = await AsyncConnection.connect(
                self.url, autocommit=True, row_factory=dict_row, options="-c enable_seqscan=off"
            )
        cur = await self.poller.execute(query, {"queue": queue})
        return await cur.fetchone()

    async def close(self) -> None:
        await self.probe.close()
        if self.poller is not None:
            await self.poller.close()

    async def load(self, queue: str, name: str = "noop", jobs: int | None = None) -> float:
        """Add `jobs` jobs (the bench's by default) to `queue` with `add_bulk`; return
        the seconds it took."""
        total = self.jobs if jobs is None else jobs
        batches = [
            [{"name": name, "data": {"n": i}} for i in range(start, min(start + self.batch, total))]
            for start in range(0, total, self.batch)
        ]
        started = time.perf_counter()
        for batch in batches:
            await self.manager.add_bulk(queue, batch)
        return time.perf_counter() - started

    async def remaining(self, queue: str) -> int:
        row = await self.poll(sql.REMAINING, queue)
        assert row is not None
        return int(row["remaining"])

    async def any_left(self, queue: str) -> bool:
        row = await self.poll(sql.ANY_LEFT, queue)
        return row is not None and bool(row["left"])

    async def wait_drained(self, queue: str) -> None:
        deadline = time.monotonic() + DRAIN_DEADLINE
        while await self.any_left(queue):
            if time.monotonic() > deadline:
                raise TimeoutError(f"queue {queue!r} did not drain in {DRAIN_DEADLINE:.0f} s")
            await asyncio.sleep(POLL)


async def clear(bench: Bench, queue: str) -> None:
    """Empty a queue the run is done with, then vacuum the table, as a running system's
    maintenance would before long (`vacuum_if_due`, autovacuum): a benchmark's workers
    live for one drain, never long enough for their own maintenance pass. Without it
    each drain left its rows' dead versions to the next, and every claim walked the
    index entries of all the drains before it: the database's CPU per job grew by about
    a tenth a round, so the later measurements of a run paid for the earlier ones."""
    await bench.probe.execute(sql.DROP_QUEUE, {"queue": queue})
    await bench.probe.execute(sql.VACUUM)


async def add_bulk_rate(bench: Bench, queue: str, jobs: int) -> float:
    return jobs / await bench.load(queue, jobs=jobs)


@dataclass
class Drain:
    rate: float
    """Jobs per second."""
    worker_cpu_us: float | None
    """CPU microseconds per job spent by the worker process."""
    db_cpu_us: float | None
    """CPU microseconds per job spent by the database's backends."""


async def backend_pids(bench: Bench, born_since: datetime | None = None) -> set[int]:
    """The database's client backends (but the probe's), only those started since
    `born_since` when given."""
    cur = await bench.probe.execute(sql.BACKENDS, {"born_since": born_since})
    return {r["pid"] for r in await cur.fetchall()}


async def drain_rate(bench: Bench) -> Drain:
    """Jobs per second one worker process finishes, from the moment the queue is resumed
    (the jobs were loaded while it was paused) to the last completion recorded."""
    await bench.manager.pause_queue(DRAIN_QUEUE)
    await bench.load(DRAIN_QUEUE)
    looked = datetime.now(UTC)
    backends = await backend_pids(bench)
    worker_before = cpu.snapshot(set(bench.worker_pids))
    db_before = cpu.snapshot(backends)
    since = datetime.now(UTC)
    started = time.time()
    await bench.manager.resume_queue(DRAIN_QUEUE)
    await bench.wait_drained(DRAIN_QUEUE)
    worker_cpu = cpu.spent(worker_before, cpu.snapshot(set(bench.worker_pids)))
    # A backend started during the drain counts whole; one that was there before but
    # missed by the first look cannot be measured, and would count its whole life.
    born = await backend_pids(bench, born_since=looked)
    db_cpu = cpu.spent(db_before, cpu.snapshot(backends | born))
    cur = await bench.probe.execute(sql.LAST_FINISHED, {"queue": DRAIN_QUEUE, "since": since})
    row = await cur.fetchone()
    assert row is not None and row["at"] is not None
    if row["failed"]:
        raise RuntimeError(f"{row['failed']} benchmark jobs failed")
    return Drain(
        bench.jobs / (row["at"] - started),
        worker_cpu * 1e6 / bench.jobs if worker_before else None,
        db_cpu * 1e6 / bench.jobs if db_before else None,
    )


def raw_loop(url: str, queue: str, batch: int) -> tuple[int, float, float]:
    """Jobs done, and the CPU seconds of this thread and of its database backend."""
    done = 0
    with psycopg.connect(url, autocommit=True) as conn:
        backend = conn.info.backend_pid
        db_before = cpu.snapshot({backend})
        client_before = time.thread_time()
        while True:
            rows = conn.execute(
                sql.RAW_CLAIM, {"queue": queue, "limit": batch}, prepare=True
            ).fetchall()
            if not rows:
                break
            ids = [r[0] for r in rows]
            conn.execute(sql.RAW_COMPLETE, {"ids": ids}, prepare=True)
            done += len(ids)
        client = time.thread_time() - client_before
        return done, client, cpu.spent(db_before, cpu.snapshot({backend}))


async def raw_rate(bench: Bench, queue: str, batch: int) -> Drain:
    """A bare claim/complete loop over the same table and index, no queue semantics."""
    await bench.load(queue)
    started = time.perf_counter()
    done, client, db = await asyncio.to_thread(raw_loop, bench.url, queue, batch)
    elapsed = time.perf_counter() - started
    if done != bench.jobs:
        raise RuntimeError(f"raw loop finished {done} of {bench.jobs} jobs")
    return Drain(done / elapsed, client * 1e6 / done, db * 1e6 / done)


async def latencies(bench: Bench, count: int, gap: float) -> list[float]:
    """Milliseconds from an acknowledged commit of one job to its processor starting,
    with the worker idle before each job."""
    committed: dict[int, float] = {}
    for _ in range(count):
        job = await bench.manager.add_job(DRAIN_QUEUE, "stamp", remove_on_complete=False)
        committed[int(job.id)] = time.time()
        await asyncio.sleep(gap)
    await bench.wait_drained(DRAIN_QUEUE)
    cur = await bench.probe.execute(sql.STARTED_AT, {"ids": list(committed)})
    rows = await cur.fetchall()
    return [(r["started"] - committed[r["id"]]) * 1000 for r in rows]


async def lateness(bench: Bench, count: int, delay_ms: int = 300) -> list[float]:
    """Milliseconds from each delayed job's run time to its processor starting: jobs added
    `delay_ms` ahead, a few milliseconds apart, to an idle worker."""
    due: dict[int, float] = {}
    for _ in range(count):
        job = await bench.manager.add_job(
            DRAIN_QUEUE, "stamp", delay=delay_ms, remove_on_complete=False
        )
        assert job.run_at is not None
        due[int(job.id)] = job.run_at.timestamp()
        await asyncio.sleep(0.005)
    await bench.wait_drained(DRAIN_QUEUE)
    cur = await bench.probe.execute(sql.STARTED_AT, {"ids": list(due)})
    return [(r["started"] - due[r["id"]]) * 1000 for r in await cur.fetchall()]


async def stats_ms(bench: Bench, repeats: int = 5) -> float:
    """Median milliseconds of `get_all_queue_stats`."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await bench.manager.get_all_queue_stats()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def maintenance_ms(store: AsyncStore, url: str) -> float:
    """One maintenance pass (rescue, then prune at most one batch), as workers run it."""
    worker = Worker(url, {DRAIN_QUEUE: 1}, Registry(), Settings.from_env())
    started = time.perf_counter()
    await worker.maintenance_pass(WorkerService(store))
    return (time.perf_counter() - started) * 1000


async def prune_all(store: AsyncStore) -> None:
    """Prune until nothing is left to prune, so that repeats start alike. Under the
    maintenance lock, as workers prune, so that a worker's pass never races this one."""
    while True:
        async with store.pool.connection() as conn, conn.transaction():
            if not await execute(conn, ops.try_maintenance_lock()):
                await asyncio.sleep(POLL)
                continue
            if not await execute(conn, ops.prune_finished(PRUNE_BATCH)):
                return


async def keep_completed(bench: Bench, store: AsyncStore, rows: int) -> float:
    """Insert `rows` completed jobs kept forever; return the seconds it took. Inserted by
    SQL, already finished, each row appends a count of its own (migration 0014): a
    maintenance pass folds them and vacuum clears what the fold leaves, as a running
    system's would within a minute, and a checkpoint writes out the pages they dirtied,
    as the checkpointer would within minutes: so that what is measured next is the
    steady state with the rows kept, not the minute after an operator's bulk insert."""
    started = time.perf_counter()
    await bench.probe.execute(sql.KEEP_COMPLETED, {"queue": DRAIN_QUEUE, "n": rows})
    await prune_all(store)
    await bench.probe.execute(sql.VACUUM)
    await bench.probe.execute(sql.VACUUM_COUNTS)
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        await bench.probe.execute(sql.CHECKPOINT)
    return time.perf_counter() - started


async def open_probe(url: str) -> AsyncConnection[DictRow]:
    return await AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
