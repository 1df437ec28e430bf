"""Several `pgqueue scheduler` processes on one database: one job per slot."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pgqueue import JobQueueManager
from tests.helpers import pgqueue_process, wait_for

pytestmark = pytest.mark.slow

WINDOW = timedelta(seconds=20)


class SchedulerProcess:
    """A scheduler subprocess whose JSON log lines are collected as they arrive."""

    def __init__(self, db_url: str) -> None:
        self.proc = pgqueue_process(["scheduler"], db_url)
        self.events: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"message": line})

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("action") == action]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def schedulers(db_url: str) -> Iterator[list[SchedulerProcess]]:
    started = [SchedulerProcess(db_url) for _ in range(3)]
    yield started
    for each in started:
        each.stop()


async def test_three_schedulers_add_exactly_one_job_per_second(
    manager: JobQueueManager, db_url: str, schedulers: list[SchedulerProcess]
) -> None:
    key = await manager.add_repeating_job("cron", "tick", {}, "* * * * * *")
    await wait_for(
        lambda: all(
            s.actions("scheduler_started") or s.proc.poll() is not None for s in schedulers
        ),
        timeout=60,
    )
    assert all(s.proc.poll() is None for s in schedulers), [s.events for s in schedulers]

    async def slots() -> list[datetime]:
        jobs = await manager.get_jobs("cron", "waiting")
        return sorted(j.run_at for j in jobs if j.run_at is not None)

    # The window opens once a slot has fired: a scheduler that has started fires its
    # first slot at the next whole second, which may come after this line.
    await wait_for(slots, timeout=15)
    window_start = datetime.now(UTC)
    window_end = window_start + WINDOW

    async def window_passed() -> bool:
        found = await slots()
        return bool(found) and found[-1] >= window_end

    await wait_for(window_passed, timeout=WINDOW.total_seconds() + 15, interval=0.5)
    assert all(s.proc.poll() is None for s in schedulers)
    for each in schedulers:
        each.stop()

    jobs = await manager.get_jobs("cron", "waiting")
    found = sorted(j.run_at for j in jobs if j.run_at is not None)
    assert len(found) == len(set(found)), "a slot fired twice"
    # From the first slot fired to the last: every second, none lost.
    assert found == [found[0] + timedelta(seconds=i) for i in range(len(found))]
    assert found[0] <= window_start and found[-1] >= window_end
    for job in jobs:
        assert job.run_at is not None
        assert job.key == f"repeat:{key}:{int(job.run_at.timestamp() * 1000)}"
    # Each job was added by exactly one winning fire, across the three processes.
    wins = [e["slot"] for s in schedulers for e in s.actions("schedule_fired")]
    assert len(wins) == len(jobs)
