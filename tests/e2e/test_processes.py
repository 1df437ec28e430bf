"""The real CLI in subprocesses: several workers, crashes, signals, pausing."""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgqueue import JobQueueManager, JobState
from tests.helpers import ROOT, finished, pgqueue_process, stat_is, wait_for
from tests.workload import RUNS_DDL

pytestmark = pytest.mark.slow

FAST = {
    "PGQUEUE_LEASE_SECONDS": "2",
    "PGQUEUE_HEARTBEAT_SECONDS": "0.5",
    "PGQUEUE_POLL_INTERVAL": "0.2",
}


@pytest.fixture
def runs(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(RUNS_DDL)


@pytest.fixture
def workers(db_url: str, runs: None) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def start_worker(
    db_url: str, workers: list[subprocess.Popen[str]], *args: str, **env: str
) -> subprocess.Popen[str]:
    proc = pgqueue_process(
        ["worker", "--queue", "test", "--import", "tests.workload", *args],
        db_url,
        {**FAST, **env},
    )
    workers.append(proc)
    return proc


async def live_workers(manager: JobQueueManager, n: int) -> bool:
    return len(await manager.get_workers()) >= n


def query(db_url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql).fetchall()


async def job_in(manager: JobQueueManager, job_id: str, state: JobState) -> bool:
    job = await manager.get_job("test", job_id)
    return job is not None and job.state is state


async def test_two_workers_run_every_job_exactly_once(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    start_worker(db_url, workers)
    start_worker(db_url, workers)
    await wait_for(lambda: live_workers(manager, 2), timeout=30)
    jobs = await manager.add_bulk(
        "test",
        [
            {"name": "record", "data": {"i": i}, "opts": {"remove_on_complete": False}}
            for i in range(400)
        ],
    )
    await wait_for(lambda: stat_is(manager, "test", "completed", 400), timeout=90, interval=0.2)
    per_job = query(db_url, "SELECT job_id, count(*) FROM test_runs GROUP BY job_id")
    assert len(per_job) == 400
    assert {n for _, n in per_job} == {1}
    assert {str(j) for j, _ in per_job} == {j.id for j in jobs}
    pids = query(db_url, "SELECT DISTINCT pid FROM test_runs")
    assert len(pids) == 2, "both processes should have taken a share"


async def test_sigkilled_workers_job_is_rescued(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    doomed = start_worker(db_url, workers)
    job = await manager.add_job("test", "slow", {"seconds": 120}, attempts=3)
    await wait_for(lambda: job_in(manager, job.id, JobState.ACTIVE), timeout=30)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    start_worker(db_url, workers)
    done = await wait_for(lambda: finished(manager, "test", job.id), timeout=60, interval=0.1)
    assert done.state is JobState.COMPLETED
    assert done.attempts_made == 2
    assert done.return_value == "done on attempt 2"


async def test_sigterm_lets_running_jobs_finish(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    proc = start_worker(db_url, workers)
    job = await manager.add_job("test", "slow", {"seconds": 1.5})
    await wait_for(lambda: job_in(manager, job.id, JobState.ACTIVE), timeout=30)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    done = await manager.get_job("test", job.id)
    assert done is not None and done.state is JobState.COMPLETED
    assert done.return_value == "done on attempt 1"
    assert await manager.get_workers() == []


async def test_sigterm_puts_back_what_outlives_the_grace_period(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    proc = start_worker(db_url, workers, PGQUEUE_SHUTDOWN_GRACE="0.5")
    job = await manager.add_job("test", "slow", {"seconds": 120, "always": True})
    await wait_for(lambda: job_in(manager, job.id, JobState.ACTIVE), timeout=30)
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    back = await manager.get_job("test", job.id)
    assert back is not None and back.state is JobState.WAITING
    assert back.attempts_made == 0, "an interrupted attempt is given back"


async def test_second_signal_stops_at_once(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    proc = start_worker(db_url, workers, PGQUEUE_SHUTDOWN_GRACE="300")
    job = await manager.add_job("test", "slow", {"seconds": 120, "always": True})
    await wait_for(lambda: job_in(manager, job.id, JobState.ACTIVE), timeout=30)
    proc.send_signal(signal.SIGTERM)
    await wait_for(lambda: _log_has(proc, "worker_stopping"), timeout=10)
    proc.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(proc.wait, 30) == 0
    back = await manager.get_job("test", job.id)
    assert back is not None and back.state is JobState.WAITING


_seen: dict[int, list[str]] = {}


def _log_has(proc: subprocess.Popen[str], action: str) -> bool:
    """Reads the worker's JSON log lines without blocking past what is there."""
    assert proc.stderr is not None
    lines = _seen.setdefault(proc.pid, [])
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    while selector.select(timeout=0):
        chunk = os.read(proc.stderr.fileno(), 65536).decode()
        if not chunk:
            break
        lines.append(chunk)
    selector.close()
    return f'"action": "{action}"' in "".join(lines)


async def test_pause_and_resume_reach_every_worker_process(
    db_url: str, manager: JobQueueManager, workers: list[subprocess.Popen[str]]
) -> None:
    start_worker(db_url, workers)
    start_worker(db_url, workers)
    await wait_for(lambda: live_workers(manager, 2), timeout=30)
    await manager.pause_queue("test")
    await manager.add_bulk("test", [{"name": "record"} for _ in range(20)])
    # Proving that nothing runs needs time to pass: several claim cycles of both workers.
    await asyncio.sleep(1.0)
    stats = await manager.get_queue_stats("test")
    assert (stats["paused"], stats["completed"], stats["active"]) == (20, 0, 0)
    assert query(db_url, "SELECT count(*) FROM test_runs") == [(0,)]
    await manager.resume_queue("test")
    await wait_for(lambda: stat_is(manager, "test", "completed", 20), timeout=10)


def test_cli_stats_migrate_and_db(db_url: str, manager: JobQueueManager) -> None:
    env = {"DATABASE_URL": db_url}
    migrate = subprocess.run(
        [sys.executable, "-m", "pgqueue", "migrate"],
        env={**_env(), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "revision 0" in migrate.stdout
    stats = subprocess.run(
        [sys.executable, "-m", "pgqueue", "stats", "--json"],
        env={**_env(), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    parsed = json.loads(stats.stdout)
    assert list(parsed)[:8] == [
        "email",
        "report",
        "pipeline",
        "test",
        "deployment",
        "notification",
        "cleanup",
        "analytics",
    ]
    db = subprocess.run(
        [sys.executable, "-m", "pgqueue", "db"],
        env={**_env(), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert db.stdout.strip().splitlines()[-1] == db_url


def test_bad_import_is_a_clear_error(db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pgqueue", "worker", "--import", "no_such_module_here"],
        env={**_env(), "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "cannot import 'no_such_module_here'" in result.stderr
    bad_setting = subprocess.run(
        [sys.executable, "-m", "pgqueue", "worker"],
        env={**_env(), "DATABASE_URL": db_url, "PGQUEUE_LEASE_SECONDS": "soon"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad_setting.returncode != 0
    assert "PGQUEUE_LEASE_SECONDS must be a number of seconds, got 'soon'" in bad_setting.stderr


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_wheel_carries_migrations_and_migrates(empty_db_url: str, tmp_path: Path) -> None:
    """`pgqueue migrate` must work from an installed wheel, not only from a checkout.

    The wheel is built with the build backend already installed (a dev dependency), so the
    test needs no package index."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("pgqueue-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(site)
    assert "pgqueue/migrations/env.py" in names
    assert any(n.startswith("pgqueue/migrations/versions/0001") for n in names)
    assert any(n.startswith("pgqueue/store/sql/") for n in names)
    result = subprocess.run(
        [sys.executable, "-c", "from pgqueue.cli import main; main()", "migrate"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "DATABASE_URL": empty_db_url},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    location = subprocess.run(
        [sys.executable, "-c", "import pgqueue.db.migrate as m; print(m.script_location())"],
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert str(site) in location.stdout
    assert query(empty_db_url, "SELECT count(*) FROM pgqueue_jobs") == [(0,)]
