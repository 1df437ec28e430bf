"""The operator commands (`jobs`, `queues`, `enqueue`, `schedules`, `workers`) against a
real database: what they print for people, what they print with --json, and how they
fail."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import Result

from pgqueue import JobQueueManager, JobState, RunningJob, SyncJobQueueManager
from pgqueue.cli.common import main_group
from pgqueue.cli.params import parse_duration
from pgqueue.registry import Registry
from tests.cli_support import Cli, failed, ok
from tests.helpers import ROOT, RunWorker, wait_for


def test_version_comes_from_the_package_metadata(cli: Cli) -> None:
    assert ok(cli("--version")).strip() == f"pgqueue, version {version('pgqueue')}"


def test_durations_are_human() -> None:
    assert parse_duration("30s") == 30_000
    assert parse_duration("1h") == 3_600_000
    assert parse_duration("7d") == 7 * 86_400_000
    assert parse_duration("1h30m") == 5_400_000
    assert parse_duration("250ms") == 250
    for bad in ("30", "1x", "", "h", "-5s"):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


def test_enqueue_takes_json_from_the_flag_or_stdin(
    cli: Cli, sync_manager: SyncJobQueueManager
) -> None:
    out = ok(cli("enqueue", "email", "welcome", "--data", '{"to": "a@example.com"}'))
    job_id = out.split()[2]
    assert out.strip() == f"added job {job_id} to email (waiting)"
    job = sync_manager.get_job("email", job_id)
    assert job is not None and job.data == {"to": "a@example.com"} and job.name == "welcome"

    piped = json.loads(
        ok(cli("enqueue", "email", "alert", "-d", "-", "-p", "1", "--json", input='{"n": [1, 2]}'))
    )
    stored = sync_manager.get_job("email", piped["id"])
    assert stored is not None and stored.data == {"n": [1, 2]} and stored.priority == 1
    assert piped["data"] == {"n": [1, 2]} and piped["priority"] == 1

    delayed = json.loads(ok(cli("enqueue", "report", "x", "--delay", "10m", "--json")))
    assert delayed["state"] == "delayed"
    assert delayed["runAt"] - delayed["timestamp"] >= 9 * 60_000

    first = ok(cli("enqueue", "email", "welcome", "--job-id", "user-7"))
    again = ok(cli("enqueue", "email", "welcome", "--job-id", "user-7"))
    assert first == again


def test_enqueue_refuses_bad_input_in_one_line(cli: Cli) -> None:
    assert "not valid JSON" in cli("enqueue", "email", "x", "--data", "{nope").stderr
    assert cli("enqueue", "email", "x", "--data", "{nope").exit_code == 2
    assert "not valid JSON" in cli("enqueue", "email", "x", "--data", "-", input="[").stderr
    assert "not a duration" in cli("enqueue", "email", "x", "--delay", "10").stderr
    line = failed(cli("enqueue", "no spaces allowed", "x"))
    assert "queue name must be" in line
    assert "attempts" in failed(cli("enqueue", "email", "x", "--attempts", "0"))


async def _failed_job_with_logs(manager: JobQueueManager, run_worker: RunWorker) -> str:
    registry = Registry()

    async def broken(job: RunningJob) -> None:
        await job.progress(40)
        await job.log("connecting to the mail server")
        raise RuntimeError("mail server said no")

    registry.add("email", "welcome", broken)
    job = await manager.add_job("email", "welcome", {"to": "b@example.com"}, attempts=1)
    async with run_worker(registry, {"email": 1}):

        async def is_failed() -> bool:
            found = await manager.get_job("email", job.id)
            return found is not None and found.state is JobState.FAILED

        await wait_for(is_failed)
    return job.id


async def test_jobs_show_has_data_attempts_failure_stack_logs_and_progress(
    cli: Cli, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    job_id = await _failed_job_with_logs(manager, run_worker)
    text = await asyncio.to_thread(lambda: ok(cli("jobs", "show", "email", job_id)))
    assert f"id        {job_id}\n" in text
    assert "state     failed\n" in text
    assert "attempts  1 of 1\n" in text
    assert "progress  40\n" in text
    assert 'data      {"to": "b@example.com"}\n' in text
    assert "failed    mail server said no\n" in text
    assert "RuntimeError: mail server said no" in text
    assert "in broken" in text  # the stack names the processor's frame
    assert "logs      1\n" in text and "connecting to the mail server" in text

    shown = json.loads(
        await asyncio.to_thread(lambda: ok(cli("jobs", "show", "email", job_id, "--json")))
    )
    assert shown["failedReason"] == "mail server said no"
    assert shown["attemptsMade"] == 1 and shown["progress"] == 40
    assert [entry["message"] for entry in shown["logs"]] == ["connecting to the mail server"]
    assert any("RuntimeError" in frame for frame in shown["stacktrace"])

    missing = await asyncio.to_thread(lambda: failed(cli("jobs", "show", "email", "999999")))
    assert missing == "Error: no job '999999' in queue 'email'"


def test_jobs_list_by_state_and_limit(cli: Cli, sync_manager: SyncJobQueueManager) -> None:
    ready = [sync_manager.add_job("test", f"job-{i}", {"i": i}) for i in range(3)]
    later = sync_manager.add_job("test", "later", None, delay=600_000)

    table = ok(cli("jobs", "list", "test")).splitlines()
    assert table[0].split() == ["ID", "NAME", "STATE", "ATTEMPTS", "PRIORITY", "CREATED", "REASON"]
    assert sorted(line.split()[0] for line in table[1:]) == sorted(j.id for j in [*ready, later])

    waiting = json.loads(ok(cli("jobs", "list", "test", "--state", "waiting", "--json")))
    assert sorted(j["id"] for j in waiting) == sorted(j.id for j in ready)
    assert {j["state"] for j in waiting} == {"waiting"}
    delayed = json.loads(ok(cli("jobs", "list", "test", "-s", "delayed", "--json")))
    assert [j["id"] for j in delayed] == [later.id]
    assert len(json.loads(ok(cli("jobs", "list", "test", "-n", "2", "--json")))) == 2
    assert ok(cli("jobs", "list", "email")).splitlines()[1:] == []
    assert cli("jobs", "list", "test", "-s", "lost").exit_code == 2


async def test_jobs_retry_remove_and_promote(
    cli: Cli, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    job_id = await _failed_job_with_logs(manager, run_worker)

    def run(*args: str) -> Result:
        return cli(*args)

    out = ok(await asyncio.to_thread(run, "jobs", "retry", "email", job_id))
    assert out.strip() == f"retried job {job_id}"
    again = await manager.get_job("email", job_id)
    assert again is not None and again.state is JobState.WAITING and again.attempts_made == 0

    # A job that has not failed cannot be retried: one line per id, exit 1, the rest done.
    other = await manager.add_job("email", "x", None, delay=600_000)
    result = await asyncio.to_thread(run, "jobs", "retry", "email", job_id, "999999")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"Error: job {job_id}:")

    out = ok(await asyncio.to_thread(run, "jobs", "promote", "email", other.id))
    assert out.strip() == f"promoted job {other.id}"
    promoted = await manager.get_job("email", other.id)
    assert promoted is not None and promoted.state is JobState.WAITING

    out = ok(await asyncio.to_thread(run, "jobs", "remove", "email", job_id, other.id))
    assert out.splitlines() == [f"removed job {job_id}", f"removed job {other.id}"]
    assert await manager.get_job("email", job_id) is None

    usage = await asyncio.to_thread(run, "jobs", "retry", "email")
    assert usage.exit_code == 2 and "--all-failed" in usage.stderr


async def test_retry_all_failed_and_promote_all_delayed(
    cli: Cli, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    await _failed_job_with_logs(manager, run_worker)
    await _failed_job_with_logs(manager, run_worker)
    await manager.add_job("email", "later", None, delay=600_000)
    out = ok(await asyncio.to_thread(cli, "jobs", "retry", "email", "--all-failed"))
    assert out.strip() == "retried 2 failed jobs in email"
    out = ok(await asyncio.to_thread(cli, "jobs", "promote", "email", "--all-delayed"))
    assert out.strip() == "promoted 1 delayed jobs in email"
    assert (await manager.get_queue_stats("email"))["waiting"] == 3


def test_queues_list_pause_resume_and_clean(cli: Cli, sync_manager: SyncJobQueueManager) -> None:
    sync_manager.add_job("analytics", "count", None)
    assert ok(cli("queues", "pause", "analytics")).strip() == "paused analytics"
    listed = {q["queue"]: q for q in json.loads(ok(cli("queues", "list", "--json")))}
    assert listed["analytics"]["paused"] is True and listed["analytics"]["counts"]["paused"] == 1
    assert listed["email"]["paused"] is False
    table = ok(cli("queues", "list")).splitlines()
    assert table[0].split()[0] == "QUEUE" and table[0].split()[-1] == "PAUSED"
    assert next(line for line in table if line.startswith("analytics")).split()[-1] == "yes"

    assert ok(cli("queues", "resume", "analytics")).strip() == "resumed analytics"
    assert sync_manager.get_paused_queues() == set()

    out = ok(cli("queues", "clean", "analytics", "--grace", "1h", "--state", "waiting"))
    assert out.strip() == "removed 0 waiting jobs from analytics"
    cleaned = json.loads(
        ok(cli("queues", "clean", "analytics", "-g", "0s", "-s", "waiting", "--json"))
    )
    assert len(cleaned["removed"]) == 1
    assert sync_manager.get_queue_stats("analytics")["waiting"] == 0
    assert "not a duration" in cli("queues", "clean", "analytics", "--grace", "soon").stderr
    assert "queue name must be" in failed(cli("queues", "pause", "a b"))


def test_schedules_add_list_remove(cli: Cli) -> None:
    key = ok(cli("schedules", "add", "cleanup", "old-logs", "--cron", "0 3 * * *")).strip()
    every = ok(cli("schedules", "add", "analytics", "rollup", "--every", "5m", "-d", '{"a": 1}'))
    listed = json.loads(ok(cli("schedules", "list", "--json")))
    by_key = {s["key"]: s for s in listed}
    assert by_key[key]["cron"] == "0 3 * * *" and by_key[key]["nextRun"] is not None
    assert by_key[every.strip()]["every"] == 300_000
    assert by_key[every.strip()]["data"] == {"a": 1}
    table = ok(cli("schedules", "list")).splitlines()
    assert any(line.startswith(key) and "0 3 * * *" in line for line in table)

    assert ok(cli("schedules", "remove", key)).strip() == f"removed schedule {key}"
    assert key not in {s["key"] for s in json.loads(ok(cli("schedules", "list", "--json")))}
    assert failed(cli("schedules", "remove", key)) == f"Error: no repeating job has key {key!r}"
    assert "cron" in failed(cli("schedules", "add", "email", "x", "--cron", "61 * * * *"))
    assert cli("schedules", "add", "email", "x").exit_code == 2


async def test_workers_shows_live_workers_and_their_running_jobs(
    cli: Cli, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    release = asyncio.Event()

    async def slow(job: RunningJob) -> None:
        await release.wait()

    registry.add("report", "*", slow)
    job = await manager.add_job("report", "slow", None)
    async with run_worker(registry, {"report": 2}):

        async def running() -> bool:
            found = await manager.get_job("report", job.id)
            return found is not None and found.state is JobState.ACTIVE

        await wait_for(running)
        listed = json.loads(ok(await asyncio.to_thread(cli, "workers", "--json")))
        table = ok(await asyncio.to_thread(cli, "workers")).splitlines()
        release.set()
    [worker] = listed
    assert worker["pid"] == os.getpid() and worker["queues"] == ["report"]
    assert worker["running"] == 1 and worker["heartbeatAt"] is not None
    assert table[0].split() == ["HOST", "PID", "QUEUES", "RUNNING", "STARTED", "HEARTBEAT"]
    assert table[1].split()[1:4] == [str(os.getpid()), "report", "1"]


def test_log_level_may_follow_the_subcommand(cli: Cli) -> None:
    # At DEBUG the error is not reduced to one line: the exception itself comes out.
    result = cli("queues", "pause", "a b", "--log-level", "DEBUG")
    assert result.exit_code == 1 and type(result.exception).__name__ == "InvalidJobError"
    assert "queue name must be" in failed(cli("queues", "pause", "a b", "--log-level", "info"))
    assert cli("queues", "list", "--log-level", "LOUD").exit_code == 2


def test_short_flags_for_worker_and_completion_script() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_PGQUEUE_COMPLETE": "bash_source"}
    script = subprocess.run(
        [str(Path(sys.executable).with_name("pgqueue"))],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "_pgqueue_completion" in script
    import pgqueue.cli  # noqa: F401

    worker = main_group.commands["worker"]
    opts = {name for p in worker.params for name in getattr(p, "opts", [])}
    assert {"-q", "-c", "-i"} <= opts
