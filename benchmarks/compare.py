"""Side by side in one run: a raw SKIP LOCKED loop, PgQueuer and pgqueue.

Machines differ by a factor of three at this work, so the targets are ratios measured
in the same run, on the same server and table, one after the other:

- raw loop: one psycopg connection, claim 100 with `FOR UPDATE SKIP LOCKED` and mark
  them done with one `UPDATE`, no leases, results or retries;
- PgQueuer (the `bench` extra) in its own process: its bulk enqueue of
  `--enqueue-jobs` with batches of `--batch`, and a drain at batch 100, its best
  setting;
- pgqueue: `add_bulk` of `--enqueue-jobs` with batches of `--batch`, just before
  PgQueuer's; a drain by one worker process at
  concurrency 100 and at 500; and by `pgqueue worker --processes 2` at 100 each.

A drain's clock runs from `resume_queue` (the jobs were loaded while it was paused) to
the last completion recorded. CPU per job is the worker processes' user + system time
over the drain divided by the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from benchmarks import stages
from benchmarks.environment import worker_process

PEER_TIMEOUT = 600.0


@dataclass
class Round:
    raw: stages.Drain
    peer_enqueue: float | None
    peer_drain: float | None
    peer_cpu_us: float | None
    add_bulk: float
    drain_100: stages.Drain
    drain_500: stages.Drain
    drain_processes_2: stages.Drain


@contextlib.asynccontextmanager
async def cli_workers(url: str, processes: int, concurrency: int) -> AsyncIterator[set[int]]:
    """`pgqueue worker --processes N` on the drain queue; yields the workers' pids once
    all have registered, and stops them with SIGTERM as an operator would."""
    env = {**os.environ, "DATABASE_URL": url, "PGQUEUE_LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pgqueue", "worker", "--queue", stages.DRAIN_QUEUE,
        "--concurrency", str(concurrency), "--processes", str(processes),
        "--import", "benchmarks.noop", env=env,
    )  # fmt: skip
    try:
        pids = await registered(url, processes)
        yield pids
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 60)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def registered(url: str, n: int, timeout: float = 60.0) -> set[int]:
    probe = await stages.open_probe(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            cur = await probe.execute("SELECT pid FROM pgqueue_workers")
            pids = {int(r["pid"]) for r in await cur.fetchall()}
            if len(pids) >= n:
                return pids
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} workers did not register in {timeout:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await probe.close()


async def peer(url: str, jobs: int, batch: int, enqueue_jobs: int) -> dict[str, float] | None:
    """PgQueuer's numbers, or None when it is not installed."""
    try:
        import pgqueuer  # noqa: F401
    except ImportError:
        return None
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.peer", url, str(jobs), str(batch), str(enqueue_jobs),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), PEER_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"the PgQueuer benchmark failed (exit {proc.returncode})")
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def drain_with(bench: stages.Bench, pids: set[int]) -> stages.Drain:
    bench.worker_pids = frozenset(pids)
    drain = await stages.drain_rate(bench)
    await stages.clear(bench, stages.DRAIN_QUEUE)
    return drain


async def one_round(bench: stages.Bench, r: int, raw_batch: int, enqueue_jobs: int) -> Round:
    raw = await stages.raw_rate(bench, f"raw{r}", raw_batch)
    await stages.clear(bench, f"raw{r}")
    add_bulk = await stages.add_bulk_rate(bench, f"bulk{r}", enqueue_jobs)
    await stages.clear(bench, f"bulk{r}")
    theirs = await peer(bench.url, bench.jobs, bench.batch, enqueue_jobs)
    async with worker_process(bench.url, stages.DRAIN_QUEUE, 100) as proc:
        drain_100 = await drain_with(bench, {proc.pid})
    async with worker_process(bench.url, stages.DRAIN_QUEUE, 500) as proc:
        drain_500 = await drain_with(bench, {proc.pid})
    async with cli_workers(bench.url, 2, 100) as pids:
        drain_processes_2 = await drain_with(bench, pids)
    return Round(
        raw,
        theirs["enqueue_rate"] if theirs else None,
        theirs["drain_rate"] if theirs else None,
        theirs["drain_cpu_us"] if theirs else None,
        add_bulk,
        drain_100,
        drain_500,
        drain_processes_2,
    )
