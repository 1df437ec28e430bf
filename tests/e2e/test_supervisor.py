"""`pgqueue worker --processes N`: children that share the work, are restarted when
they die, and drain on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from pgqueue import JobQueueManager
from tests.helpers import pgqueue_process, wait_for
from tests.workload import RUNS_DDL

pytestmark = pytest.mark.slow

FAST = {
    "PGQUEUE_LEASE_SECONDS": "2",
    "PGQUEUE_HEARTBEAT_SECONDS": "0.5",
    "PGQUEUE_POLL_INTERVAL": "0.2",
}


@pytest.fixture
def supervisor(db_url: str) -> Iterator[subprocess.Popen[str]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(RUNS_DDL)
    proc = pgqueue_process(
        ["worker", "--queue", "test", "--import", "tests.workload", "--processes", "2"],
        db_url,
        FAST,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


async def worker_pids(manager: JobQueueManager) -> set[int]:
    return {int(w["pid"]) for w in await manager.get_workers()}


async def test_processes_share_restart_and_drain(
    db_url: str, manager: JobQueueManager, supervisor: subprocess.Popen[str]
) -> None:
    first = await wait_for(lambda: _pids(manager, without=0), timeout=60, interval=0.2)
    assert supervisor.pid not in first
    jobs = await manager.add_bulk(
        "test",
        [
            {"name": "record", "data": {"i": i}, "opts": {"remove_on_complete": False}}
            for i in range(300)
        ],
    )
    await wait_for(lambda: _completed(manager, 300), timeout=90, interval=0.2)
    with psycopg.connect(db_url) as conn:
        ran = conn.execute(
            "SELECT job_id, count(*), array_agg(DISTINCT pid) FROM test_runs GROUP BY job_id"
        ).fetchall()
    assert {str(job_id) for job_id, _, _ in ran} == {j.id for j in jobs}
    assert {n for _, n, _ in ran} == {1}
    assert {pid for _, _, pids in ran for pid in pids} == first

    # A child killed outright is logged and replaced.
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    after = await wait_for(lambda: _pids(manager, without=victim), timeout=60, interval=0.2)
    assert victim not in after

    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(60) == 0
    assert await manager.get_workers() == []
    assert supervisor.stderr is not None
    actions = [_action(line) for line in supervisor.stderr.read().splitlines()]
    assert actions.count("worker_process_died") == 1
    assert actions.count("worker_process_started") == 3
    assert actions.count("worker_stopped") == 2


async def _pids(manager: JobQueueManager, without: int) -> set[int] | None:
    """The two live workers' pids, once there are two and `without` is not one of them."""
    found = await worker_pids(manager)
    return found if len(found) == 2 and without not in found else None


async def _completed(manager: JobQueueManager, n: int) -> bool:
    return (await manager.get_queue_stats("test"))["completed"] == n


def _action(line: str) -> str | None:
    try:
        return json.loads(line).get("action")
    except ValueError:
        return None
