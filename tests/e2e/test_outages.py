"""The database away: at start, for one-shot commands, and in the middle of a run.

Long-running processes wait for the server (one line per attempt naming host, port and
cause) and give up after `PGQUEUE_CONNECT_TIMEOUT` with one line; one-shot commands try
once and fail with one line. Across a server restart the API, the dashboard and the
scheduler carry on, and a repeating job fires its latest missed slot once, not a burst.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx2
import psycopg
import pytest

from pgqueue import JobQueueManager
from pgqueue.config import Settings
from pgqueue.db import migrate
from pgqueue.registry import Registry
from pgqueue.scheduler import Scheduler
from tests.dashboard_support import client_for, create_tokens, sign_in
from tests.helpers import ROOT, wait_for
from tests.pgbouncer import free_port
from tests.pgserver import RestartableServer

PASSWORD = "s3cret-pw"


def closed_port_url() -> tuple[str, int]:
    port = free_port()  # bound and released: nothing listens there
    return f"postgresql://app:{PASSWORD}@127.0.0.1:{port}/orders", port


def pgqueue(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pgqueue", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stderr


@pytest.fixture
def server() -> Iterator[RestartableServer]:
    server = RestartableServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(
    "command", [["stats"], ["migrate"], ["token", "list"], ["db"], ["jobs", "list", "email"]]
)
def test_one_shot_commands_fail_with_one_line(command: list[str]) -> None:
    url, port = closed_port_url()
    code, stderr = pgqueue(command, {"DATABASE_URL": url})
    assert code == 1
    assert stderr.strip().splitlines() == [
        f"Error: cannot reach the database at 127.0.0.1:{port}/orders: Connection refused"
    ]


def test_one_shot_traceback_only_at_debug() -> None:
    url, _ = closed_port_url()
    code, stderr = pgqueue(["--log-level", "DEBUG", "stats"], {"DATABASE_URL": url})
    assert code == 1
    assert "Traceback" in stderr and "DatabaseUnavailableError" in stderr
    assert PASSWORD not in stderr


@pytest.mark.parametrize("command", [["worker", "--queue", "email"], ["scheduler"]])
def test_long_running_commands_wait_then_give_up(command: list[str]) -> None:
    url, port = closed_port_url()
    env = {"DATABASE_URL": url, "PGQUEUE_CONNECT_TIMEOUT": "3", "PGQUEUE_LOG_FORMAT": "json"}
    code, stderr = pgqueue(command, env)
    assert code == 1
    lines = stderr.strip().splitlines()
    waits = [json.loads(line) for line in lines[:-1]]
    assert len(waits) >= 2
    assert all(w["action"] == "database_wait" for w in waits)
    assert all(
        (w["host"], w["port"], w["cause"]) == ("127.0.0.1", str(port), "Connection refused")
        for w in waits
    )
    assert [w["attempt"] for w in waits] == list(range(1, len(waits) + 1))
    assert lines[-1] == (
        f"Error: gave up after 3s waiting for the database at 127.0.0.1:{port}/orders: "
        "Connection refused"
    )
    assert PASSWORD not in stderr


def test_api_answers_health_while_it_waits_and_is_ready_once_the_server_is(
    server: RestartableServer,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": server.url,
        "PGQUEUE_CONNECT_TIMEOUT": "60",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "pgqueue", "api", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def status(path: str) -> int | None:
        try:
            return httpx2.get(base + path, timeout=10).status_code
        except httpx2.TransportError:
            return None

    def wait_until(what: str, check: object, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():  # type: ignore[operator]
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    try:
        wait_until("healthz answers", lambda: status("/healthz") == 200)
        assert status("/readyz") == 503
        server.start()
        wait_until("readyz says ready", lambda: status("/readyz") == 200)
        assert migrate.current_revision(server.url) == migrate.head_revision()
    finally:
        api.terminate()
        api.wait(30)


@pytest.fixture
async def restartable_manager(
    server: RestartableServer, settings: Settings
) -> AsyncIterator[JobQueueManager]:
    server.start()
    migrate.upgrade(server.url)
    async with JobQueueManager(server.url, settings=settings, registry=Registry()) as m:
        yield m


async def restart(server: RestartableServer, down_seconds: float = 0.0) -> None:
    await asyncio.to_thread(server.stop, "fast")
    if down_seconds:
        await asyncio.sleep(down_seconds)  # the outage itself, not a wait for a result
    await asyncio.to_thread(server.start)


async def test_api_and_dashboard_carry_on_after_a_restart(
    server: RestartableServer, restartable_manager: JobQueueManager
) -> None:
    manager = restartable_manager
    tokens = await create_tokens(server.url)
    await manager.add_job("email", "send", {})
    async with client_for(manager) as client:
        headers = {"Authorization": f"Bearer {tokens['ops-admin']}"}
        await sign_in(client, tokens["ops-admin"])
        assert (await client.get("/api/v1/jobs/queues/email/stats", headers=headers)).is_success
        await restart(server)
        # Every pooled connection died with the server; none of them may fail a request.
        for _ in range(3):
            stats = await client.get("/api/v1/jobs/queues/email/stats", headers=headers)
            assert stats.status_code == 200, stats.text
            assert stats.json()["data"]["waiting"] == 1
            page = await client.get("/admin/queues/email")
            assert page.status_code == 200, page.text
        assert (await client.get("/readyz")).status_code == 200


async def test_a_repeating_job_fires_its_latest_missed_slot_once_after_an_outage(
    server: RestartableServer, restartable_manager: JobQueueManager, settings: Settings
) -> None:
    await restartable_manager.add_repeating_job("report", "tick", {}, "* * * * * *")
    scheduler = Scheduler(server.url, replace(settings, connect_timeout=5), poll_interval=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))

    def slots() -> list[datetime]:
        with psycopg.connect(server.url) as conn:
            rows = conn.execute("SELECT run_at FROM pgqueue_jobs ORDER BY run_at").fetchall()
        return [row[0] for row in rows]

    try:
        await wait_for(lambda: len(slots()) >= 2, timeout=30)
        down_from = datetime.now(UTC)
        await restart(server, down_seconds=4)
        back_at = datetime.now(UTC)
        await wait_for(lambda: max(slots()) >= back_at + timedelta(seconds=3), timeout=30)
    finally:
        stop.set()
        await task
    fired = slots()
    assert len(fired) == len(set(fired)), "one job per slot"
    missed = [s for s in fired if down_from + timedelta(seconds=1) < s <= back_at]
    assert len(missed) <= 1, f"no burst of missed slots: {missed}"
    after = [s for s in fired if back_at + timedelta(seconds=1) < s]
    assert after == [after[0] + timedelta(seconds=i) for i in range(len(after))], (
        "every slot after the outage fires"
    )
