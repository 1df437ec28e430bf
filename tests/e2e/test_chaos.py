"""Chaos: killed workers, a restarted server, a worker started while it is down.

1,200 jobs, each appending "<job id> <pid>" to a file, run by three worker processes on
a server of the test's own. Mid-run one worker is SIGKILLed and replaced, the server is
stopped (every connection dropped), a fourth worker is started while it is down, and the
server comes back on the same port. In the end pgqueue's records show every job
completed once and nothing active or waiting, and the only jobs that ran twice are jobs
the killed worker had claimed: at-least-once delivery, one completion record. The outage
is longer than the lease, and still no surviving worker's job runs twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from pgqueue import SyncJobQueueManager
from pgqueue.db import migrate
from pgqueue.registry import Registry
from tests.helpers import ROOT
from tests.pgserver import RestartableServer

WORKER = [sys.executable, "-m", "pgqueue", "worker", "--queue", "chaos"]
JOBS = 1200
EXTRA = 40
LEASE_SECONDS = 6
"""Shorter than the outage, which must therefore not get the surviving workers declared
dead (their jobs would run twice); short enough that the killed worker's jobs are
rescued within the test."""


@pytest.fixture
def server() -> Iterator[RestartableServer]:
    server = RestartableServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


def poll(what: str, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


class Fleet:
    """Worker processes with their logs and the side-effect files they write."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.effects = folder / "effects"
        self.effects.mkdir()
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "PYTHONPATH": str(ROOT),
            "CHAOS_EFFECTS_DIR": str(self.effects),
            "PGQUEUE_LOG_FORMAT": "json",
            "PGQUEUE_LEASE_SECONDS": str(LEASE_SECONDS),
            "PGQUEUE_HEARTBEAT_SECONDS": "0.5",
            "PGQUEUE_POLL_INTERVAL": "0.5",
            "PGQUEUE_CONNECT_TIMEOUT": "60",
        }
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [*WORKER, "--concurrency", "5", "--import", "tests.chaos_jobs"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.workers[name] = process
        return process

    def logged(self, name: str, action: str) -> bool:
        for line in (self.folder / f"{name}.log").read_text().splitlines():
            try:
                if json.loads(line).get("action") == action:
                    return True
            except json.JSONDecodeError:
                continue
        return False

    def runs(self) -> list[tuple[int, int]]:
        """(job id, pid) for every run so far."""
        found: list[tuple[int, int]] = []
        for path in self.effects.iterdir():
            for line in path.read_text().splitlines():
                job_id, pid = line.split()
                found.append((int(job_id), int(pid)))
        return found

    def stop_all(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def states(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT state, count(*) FROM pgqueue_jobs GROUP BY state").fetchall()
    return {state: n for state, n in rows}


def test_workers_survive_kills_and_a_server_restart(
    server: RestartableServer, tmp_path: Path
) -> None:
    migrate.upgrade(server.url)
    with SyncJobQueueManager(server.url, registry=Registry()) as manager:
        manager.add_bulk(
            "chaos",
            [{"name": "effect", "data": {}, "opts": {"removeOnComplete": False}}] * JOBS,
        )
    fleet = Fleet(server.url, tmp_path)
    try:
        for name in ("a", "b", "c"):
            fleet.start(name)
        killed = fleet.workers["a"]

        poll(
            "the first worker runs jobs",
            lambda: sum(p == killed.pid for _, p in fleet.runs()) >= 30,
            45,
        )
        killed.kill()
        killed.wait()
        fleet.start("a2")

        poll("a third of the jobs ran", lambda: len(fleet.runs()) >= JOBS // 3, 45)
        server.stop("fast")
        down_since = time.monotonic()
        late = fleet.start("d")
        poll("the late worker waits for the server", lambda: fleet.logged("d", "database_wait"), 30)
        # The outage itself: longer than the lease, so every heartbeat is stale when the
        # server comes back. Not a wait for a result.
        time.sleep(max(0.0, down_since + LEASE_SECONDS + 1 - time.monotonic()))
        server.start()

        poll("the late worker starts", lambda: fleet.logged("d", "worker_started"), 30)
        poll(
            "every job completed",
            lambda: states(server.url).get("completed", 0) == JOBS,
            60,
        )

        # The late worker works: with the others stopped, only it can run these.
        for name in ("a2", "b", "c"):
            fleet.workers[name].send_signal(signal.SIGTERM)
            fleet.workers[name].wait(30)
        with SyncJobQueueManager(server.url, registry=Registry()) as manager:
            extra = manager.add_bulk(
                "chaos",
                [{"name": "effect", "data": {}, "opts": {"removeOnComplete": False}}] * EXTRA,
            )
        poll(
            "the late worker completes the extra jobs",
            lambda: states(server.url).get("completed", 0) == JOBS + EXTRA,
            30,
        )
        assert late.poll() is None
    finally:
        fleet.stop_all()

    assert states(server.url) == {"completed": JOBS + EXTRA}
    runs = fleet.runs()
    per_job = Counter(job_id for job_id, _ in runs)
    with psycopg.connect(server.url) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM pgqueue_jobs")}
    assert set(per_job) == ids, "every job ran"
    killed_jobs = {job_id for job_id, pid in runs if pid == killed.pid}
    twice = {job_id for job_id, n in per_job.items() if n > 1}
    assert max(per_job.values()) <= 2
    assert twice <= killed_jobs, "only jobs the killed worker had run were run again"
    assert {pid for job_id, pid in runs if str(job_id) in {j.id for j in extra}} == {late.pid}
