"""The backlog drain: 200,000 jobs from a table with cold statistics, three times.

Throughput once collapsed mid-drain: a plan chosen from statistics taken while the table
was empty or idle (a partial index "of one row") made every completion batch slower as
the backlog of active jobs grew; and a worker that started on an all but empty table
kept plans that read the whole table for every claim and completion of the burst that
followed. This stage recreates those conditions each time: the table is emptied and
analyzed, so its statistics say it holds nothing; the worker runs a few jobs one at a
time, so that its statements are planned there; then the backlog is loaded while its
queue is paused and drained by that worker at concurrency 200 with the default
retention, autovacuum on. It samples what remains twice a second and reports the rate of
every 10-second window; the target is that the slowest stays above 40 % of the median.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from benchmarks.environment import worker_process
from benchmarks.stages import Bench, clear

QUEUE = "backlog"
CONCURRENCY = 200
WINDOW = 10.0
SAMPLE = 0.5
DEADLINE = 900.0
QUIET_START = 10
"""Jobs run one at a time before the backlog: more runs of each statement than
Postgres plans one by one before it may keep a generic plan."""


@dataclass
class BacklogDrain:
    rate: float
    """Jobs per second over the whole drain."""
    median_window: float
    slowest_window: float

    @property
    def slowest_ratio(self) -> float:
        return self.slowest_window / self.median_window if self.median_window else 0.0


def window_rates(samples: list[tuple[float, int]], window: float = WINDOW) -> list[float]:
    """Jobs per second in every `window`-long stretch between samples of (time, remaining);
    the whole run counts as one window when it is shorter than that."""
    rates = []
    j = 0
    for i, (t, left) in enumerate(samples):
        j = max(j, i)
        while j < len(samples) and samples[j][0] < t + window:
            j += 1
        if j == len(samples):
            break
        t_end, left_end = samples[j]
        rates.append((left - left_end) / (t_end - t))
    if not rates and len(samples) > 1:
        (t0, l0), (t1, l1) = samples[0], samples[-1]
        rates.append((l0 - l1) / (t1 - t0))
    return rates


async def drain_backlog(bench: Bench, jobs: int) -> BacklogDrain:
    await clear(bench, QUEUE)
    batches = [
        [{"name": "noop", "data": {"n": i}} for i in range(s, min(s + bench.batch, jobs))]
        for s in range(0, jobs, bench.batch)
    ]
    async with worker_process(bench.url, QUEUE, CONCURRENCY):
        for _ in range(QUIET_START):
            await bench.manager.add_job(QUEUE, "noop")
            await bench.wait_drained(QUEUE)
        await bench.manager.pause_queue(QUEUE)
        for batch in batches:
            await bench.manager.add_bulk(QUEUE, batch)
        started = time.monotonic()
        samples = [(started, jobs)]
        await bench.manager.resume_queue(QUEUE)
        while samples[-1][1]:
            if time.monotonic() - started > DEADLINE:
                raise TimeoutError(f"the backlog did not drain in {DEADLINE:.0f} s")
            await asyncio.sleep(SAMPLE)
            samples.append((time.monotonic(), await bench.remaining(QUEUE)))
    rates = window_rates(samples)
    elapsed = samples[-1][0] - started
    return BacklogDrain(jobs / elapsed, statistics.median(rates), min(rates))
