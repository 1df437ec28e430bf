"""The `cleanup` queue's built-in processors, run by a real worker on real rows and files."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgqueue import CleanupJobType, Job, JobQueueManager, JobState
from pgqueue.config import Settings
from pgqueue.processors import register_builtins
from pgqueue.registry import Registry
from tests.helpers import RunWorker, wait_for

DAY = 86_400


@pytest.fixture
def dirs(tmp_path: Path, settings: Settings) -> Settings:
    """Settings whose artifacts and temp directories are this test's own."""
    return dataclasses.replace(
        settings, artifacts_dir=tmp_path / "artifacts", temp_dir=tmp_path / "tmp"
    )


async def run_cleanup(
    manager: JobQueueManager,
    run_worker: RunWorker,
    settings: Settings,
    kind: CleanupJobType,
    data: Any = None,
) -> Job:
    registry = Registry()
    register_builtins(registry)
    added = await manager.add_cleanup_job(kind, data)

    async def finished() -> Job | None:
        job = await manager.get_job("cleanup", added.id)
        return job if job and job.state in (JobState.COMPLETED, JobState.FAILED) else None

    async with run_worker(registry, {"cleanup": 1}, settings):
        return await wait_for(finished)


def write(path: Path, text: str = "x", age: float = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    age_files(path, age=age)
    return path


def age_files(*paths: Path, age: float) -> None:
    moment = time.time() - age
    for path in paths:
        os.utime(path, (moment, moment), follow_symlinks=False)


def sql(db_url: str, statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


async def test_expired_tokens_are_deleted(
    manager: JobQueueManager, run_worker: RunWorker, dirs: Settings, db_url: str
) -> None:
    for name, expires in [
        ("gone-1", "now() - interval '1 day'"),
        ("gone-2", "now() - interval '1 second'"),
        ("valid", "now() + interval '1 day'"),
        ("forever", "NULL"),
    ]:
        sql(
            db_url,
            "INSERT INTO pgqueue_api_tokens (name, token_hash, role, expires_at)"
            f" VALUES (%s, %s, 'ADMIN', {expires})",
            [name, f"hash-{name}"],
        )
    job = await run_cleanup(manager, run_worker, dirs, CleanupJobType.EXPIRED_TOKENS)
    assert job.state is JobState.COMPLETED, job.failed_reason
    assert job.return_value["removed"] == 2
    assert sorted(job.return_value["tokens"]) == ["gone-1", "gone-2"]
    assert sorted(r[0] for r in sql(db_url, "SELECT name FROM pgqueue_api_tokens")) == [
        "forever",
        "valid",
    ]


async def test_old_job_logs_are_archived_then_deleted(
    manager: JobQueueManager, run_worker: RunWorker, dirs: Settings, db_url: str
) -> None:
    owner = await manager.add_job("report", "pipeline-report", {})
    for days, message in [(45, "very old"), (31, "old"), (29, "recent"), (0, "today")]:
        sql(
            db_url,
            "INSERT INTO pgqueue_job_logs (job_id, created_at, message)"
            " VALUES (%s, now() - %s * interval '1 day', %s)",
            [int(owner.id), days, message],
        )
    job = await run_cleanup(manager, run_worker, dirs, CleanupJobType.OLD_LOGS)
    assert job.state is JobState.COMPLETED, job.failed_reason
    assert job.return_value["archived"] == 2
    [archive] = [Path(f) for f in job.return_value["files"]]
    assert archive.parent == dirs.artifacts_dir / "archives"
    with gzip.open(archive, "rt") as lines:
        archived = [json.loads(line) for line in lines]
    assert [a["message"] for a in archived] == ["very old", "old"]
    assert {(a["job_id"], a["queue"], a["job_name"]) for a in archived} == {
        (int(owner.id), "report", "pipeline-report")
    }
    assert all(a["created_at"] for a in archived)
    remaining = sql(db_url, "SELECT message FROM pgqueue_job_logs ORDER BY id")
    assert [r[0] for r in remaining] == ["recent", "today"]

    # An age in the job's data overrides the 30 days.
    job = await run_cleanup(
        manager, run_worker, dirs, CleanupJobType.OLD_LOGS, {"olderThanDays": 10}
    )
    assert job.return_value["archived"] == 1
    assert len(list((dirs.artifacts_dir / "archives").iterdir())) == 2


async def test_old_temp_files_are_removed_and_links_never_followed(
    manager: JobQueueManager, run_worker: RunWorker, dirs: Settings, tmp_path: Path
) -> None:
    temp = dirs.temp_dir
    old = write(temp / "upload-1.part", "12345", age=2 * DAY)
    fresh = write(temp / "upload-2.part", age=60)
    nested_old = write(temp / "build" / "x" / "object.o", "abc", age=2 * DAY)
    empty_old = temp / "stale-dir"
    empty_old.mkdir()
    outside = write(tmp_path / "outside" / "precious.txt", age=30 * DAY)
    (temp / "link-to-file").symlink_to(outside)
    (temp / "link-to-dir").symlink_to(outside.parent, target_is_directory=True)
    age_files(temp / "link-to-file", temp / "link-to-dir", age=2 * DAY)
    age_files(nested_old.parent, nested_old.parent.parent, empty_old, age=2 * DAY)

    job = await run_cleanup(manager, run_worker, dirs, CleanupJobType.TEMP_FILES)
    assert job.state is JobState.COMPLETED, job.failed_reason
    result = job.return_value
    assert sorted(result["files"]) == sorted(
        [
            "upload-1.part",
            "build/x/object.o",
            "build/x",
            "build",
            "stale-dir",
            "link-to-file",
            "link-to-dir",
        ]
    )
    assert result["removed"] == 7 and result["bytes"] >= 8 and result["failed"] == []
    assert not old.exists() and fresh.exists() and temp.is_dir()
    # What the links pointed to is untouched.
    assert outside.exists() and outside.parent.is_dir()


async def test_old_artifacts_are_removed_but_never_the_log_archives(
    manager: JobQueueManager, run_worker: RunWorker, dirs: Settings
) -> None:
    artifacts = dirs.artifacts_dir
    stale = write(artifacts / "builds" / "123" / "app.tar.gz", age=8 * DAY)
    recent = write(artifacts / "builds" / "124" / "app.tar.gz", age=2 * DAY)
    archive = write(artifacts / "archives" / "job-logs-old.jsonl.gz", age=400 * DAY)

    job = await run_cleanup(manager, run_worker, dirs, CleanupJobType.OLD_ARTIFACTS)
    assert job.state is JobState.COMPLETED, job.failed_reason
    assert "builds/123/app.tar.gz" in job.return_value["files"]
    assert not stale.exists() and recent.exists() and archive.exists()

    job = await run_cleanup(
        manager, run_worker, dirs, CleanupJobType.OLD_ARTIFACTS, {"olderThanHours": 1}
    )
    assert job.return_value["files"] == ["builds/124/app.tar.gz"]
    assert not recent.exists() and archive.exists()


async def test_missing_directories_are_nothing_to_clean(
    manager: JobQueueManager, run_worker: RunWorker, dirs: Settings
) -> None:
    job = await run_cleanup(manager, run_worker, dirs, CleanupJobType.TEMP_FILES)
    assert job.state is JobState.COMPLETED, job.failed_reason
    assert job.return_value == {"removed": 0, "bytes": 0, "files": [], "failed": []}


async def test_a_bad_age_fails_the_job_without_retries(
    manager: JobQueueManager, run_worker: RunWorker, dirs: Settings
) -> None:
    job = await run_cleanup(
        manager, run_worker, dirs, CleanupJobType.TEMP_FILES, {"olderThanDays": -1}
    )
    assert job.state is JobState.FAILED
    assert job.attempts_made == 1
    assert "olderThanDays" in (job.failed_reason or "")
