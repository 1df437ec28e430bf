"""Ten drains of 100,000 jobs back to back through one worker: does anything grow?

With autovacuum on, as in production, it reports after each drain the jobs table's size
(heap, indexes and TOAST), its dead tuples, and the worker's resident memory. Flat
means the engine leaves nothing behind: no bloat that vacuum cannot keep up with, no
memory held per job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks import stages

SIZE = """
SELECT pg_total_relation_size('pgqueue_jobs') AS total,
       pg_indexes_size('pgqueue_jobs') AS indexes,
       coalesce((SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'pgqueue_jobs'), 0)
           AS dead
"""


@dataclass
class AfterDrain:
    rate: float
    table_mb: float
    indexes_mb: float
    dead_tuples: int
    worker_rss_mb: float | None


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def drain_and_measure(bench: stages.Bench, pid: int) -> AfterDrain:
    drain = await stages.drain_rate(bench)
    cur = await bench.probe.execute(SIZE)
    row = await cur.fetchone()
    assert row is not None
    return AfterDrain(
        drain.rate,
        row["total"] / 2**20,
        row["indexes"] / 2**20,
        int(row["dead"]),
        rss_mb(pid),
    )
