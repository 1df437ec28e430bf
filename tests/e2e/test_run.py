"""`pgqueue run`: one process with the API, the scheduler and workers for every queue."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request

import pytest

from pgqueue import JobQueueManager, JobState
from tests.helpers import finished, free_port, pgqueue_process, wait_for

pytestmark = pytest.mark.slow


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return 0, {}


async def test_run_serves_api_schedules_cleanup_and_works_jobs(
    db_url: str, manager: JobQueueManager
) -> None:
    port = free_port()
    proc = pgqueue_process(["run"], db_url, {"PGQUEUE_API_PORT": str(port)})
    try:
        status = await wait_for(
            lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, timeout=60, interval=0.2
        )
        assert status

        # Ready means the API serves on a migrated schema; the rest starts right after.
        async def daily_cleanup_scheduled() -> bool:
            schedules = await manager.get_repeating_jobs()
            return {s["name"] for s in schedules} == {
                "expired-tokens",
                "old-logs",
                "temp-files",
                "old-artifacts",
            }

        await wait_for(daily_cleanup_scheduled, timeout=30)
        job = await manager.add_cleanup_job("expired-tokens")
        done = await wait_for(lambda: finished(manager, "cleanup", job.id), timeout=30)
        assert done.state is JobState.COMPLETED
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0


def test_run_fails_clearly_when_the_port_is_taken(db_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = pgqueue_process(["run"], db_url, {"PGQUEUE_API_PORT": str(port)})
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert f"could not start on 127.0.0.1:{port}" in err
    assert '"action": "worker_stopped"' in err
