"""A worker's shutdown ends every task it started, however the timing falls.

The hang once seen in the dashboard's workers-page test (a worker started and stopped at
once) came from `asyncio.wait_for`, which on Python 3.11 swallows a cancellation that
arrives in the same loop iteration as the event it waits for. The listener wakes every
pool when it connects, right when such a short-lived worker is told to stop; the fetch
loop lost its cancellation and kept claiming, and shutdown waited for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from pgqueue.config import Settings
from pgqueue.registry import Registry
from pgqueue.worker import Worker
from tests.helpers import wait_for


def worker_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("pgqueue-") and not t.done()}


async def test_a_wake_as_the_worker_stops_does_not_keep_it_claiming(
    db_url: str, settings: Settings
) -> None:
    idle = replace(settings, poll_interval=60.0)
    for _ in range(5):
        worker = Worker(db_url, {"email": 1, "report": 1}, Registry(), idle)
        stop = asyncio.Event()
        run = asyncio.create_task(worker.run(stop))
        await wait_for(worker.ready.is_set)
        # Each pool's first claim finds nothing; then it waits for a wake-up.
        await wait_for(lambda: all(not p.running for p in worker.pools.values()))  # noqa: B023
        for pool in worker.pools.values():
            pool.wake()
        await asyncio.sleep(0)  # the pools' waits end in this iteration ...
        stop.set()  # ... and the shutdown's cancellation arrives in the next
        await asyncio.wait_for(run, 30)
        run.result()
        assert worker_tasks() == set()
