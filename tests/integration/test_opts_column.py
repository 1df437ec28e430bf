"""Revision 0015 stores a job's options as `json`: what was stored before reads back the
same after the upgrade and after a downgrade, and every way in writes options that read
back as they were given. A row stores only the options that differ from the defaults of
the table's format; every reader gets them all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from alembic import command
from psycopg.rows import dict_row

from pgqueue import Job, JobQueueManager, JobState, RunningJob
from pgqueue.db import migrate
from pgqueue.registry import Registry
from pgqueue.store import bulk_ops
from tests.helpers import PLAIN_OPTIONS as DEFAULTS
from tests.helpers import RunWorker, wait_for

STORED = {
    "priority": 2,
    "attempts": 5,
    "backoff": {"type": "fixed", "delay": 1500},
    "delay": 0,
    "remove_on_complete": {"age": 3600, "count": 10},
    "remove_on_fail": True,
    "timeout": 90_000,
    "job_id": "é-1",
}


def read_opts(url: str) -> list[tuple[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        rows = conn.execute(
            "SELECT pg_typeof(opts)::text AS type, opts FROM pgqueue_jobs ORDER BY id"
        ).fetchall()
    return [(r["type"], r["opts"]) for r in rows]


def test_upgrade_and_downgrade_keep_every_job_s_options(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url, "0014")
    with psycopg.connect(empty_db_url) as conn:
        conn.execute(
            "INSERT INTO pgqueue_jobs (queue, name, data, opts) VALUES "
            "('q', 'a', '{}', %s::jsonb), ('q', 'b', '{}', DEFAULT)",
            (psycopg.types.json.Json(STORED),),
        )
    migrate.upgrade(empty_db_url)
    assert read_opts(empty_db_url) == [("json", STORED), ("json", {})]
    with psycopg.connect(empty_db_url) as conn:
        conn.execute("INSERT INTO pgqueue_jobs (queue, name, data) VALUES ('q', 'c', '{}')")
    assert read_opts(empty_db_url)[2] == ("json", {})

    command.downgrade(migrate.alembic_config(empty_db_url), "0014")
    assert read_opts(empty_db_url) == [("jsonb", STORED), ("jsonb", {}), ("jsonb", {})]


async def test_every_way_in_stores_options_that_read_back_as_given(
    manager: JobQueueManager, db_url: str
) -> None:
    opts = {"priority": 1, "attempts": 4, "backoff": {"type": "fixed", "delay": 250}}
    one = await manager.add_job("email", "one", {"n": 1}, **opts)  # type: ignore[arg-type]
    statement = await manager.add_bulk("email", [{"name": "few", "data": {}, "opts": opts}] * 3)
    copied = await manager.add_bulk(
        "email", [{"name": "many", "data": {}, "opts": opts}] * bulk_ops.COPY_MIN
    )
    for job in [one, *statement, *copied]:
        stored = await manager.get_job("email", job.id)
        assert stored is not None
        assert stored.opts == job.opts
        assert stored.opts["backoff"] == {"type": "fixed", "delay": 250}
        assert stored.opts["attempts"] == 4
    types = {t for t, _ in read_opts(db_url)}
    assert types == {"json"}


async def test_rows_store_only_options_that_differ_and_every_reader_gets_them_all(
    manager: JobQueueManager, db_url: str, run_worker: RunWorker
) -> None:
    plain = await manager.add_job("plain", "fails", {})
    fixed = await manager.add_job("plain", "fixed", {}, backoff=250, timeout=60_000)
    copied = await manager.add_bulk("plain", [{"name": "copied"}] * bulk_ops.COPY_MIN)
    flow_root = (await manager.add_flow({"queue": "plain", "name": "flow"}))["job"]
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO pgqueue_jobs (queue, name, data, opts) VALUES ('plain', 'old', '{}', %s)",
            (psycopg.types.json.Json(DEFAULTS),),
        )
    stored = read_opts_by_name(db_url)
    assert stored["fails"] == [{}]
    assert stored["fixed"] == [{"backoff": {"type": "fixed", "delay": 250}, "timeout": 60_000}]
    assert stored["copied"] == [{}] * bulk_ops.COPY_MIN
    assert stored["flow"] == [{}]
    assert stored["old"] == [DEFAULTS]
    for job in [plain, *copied, flow_root]:
        assert job.opts == DEFAULTS
        got = await manager.get_job("plain", job.id)
        assert got is not None and list(got.opts.items()) == list(DEFAULTS.items())
    got = await manager.get_job("plain", fixed.id)
    assert got is not None and got.opts == fixed.opts
    assert fixed.opts == {**DEFAULTS, "backoff": {"type": "fixed", "delay": 250}, "timeout": 60_000}
    [old] = [j for j in await manager.get_jobs("plain", "waiting") if j.name == "old"]
    assert list(old.opts.items()) == list(DEFAULTS.items())

    # The worker reads the defaults back too: the first failure waits out the default
    # backoff (exponential from 2 s), as it did when every row held it.
    seen: list[dict[str, Any]] = []

    def fails(job: RunningJob) -> None:
        seen.append(job.opts)
        raise ValueError("once")

    registry = Registry()
    registry.add("plain", "fails", fails)
    async with run_worker(registry, {"plain": 1}):
        retried = await wait_for(lambda: delayed_after_one_attempt(manager, plain.id))
    assert seen[0] == DEFAULTS
    assert retried.processed_at is not None and retried.run_at is not None
    assert retried.run_at - retried.processed_at >= timedelta(seconds=2)


def read_opts_by_name(url: str) -> dict[str, list[Any]]:
    """Each job name's stored options, as the rows hold them."""
    by_name: dict[str, list[Any]] = {}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        for row in conn.execute("SELECT name, opts FROM pgqueue_jobs ORDER BY id"):
            by_name.setdefault(row["name"], []).append(row["opts"])
    return by_name


async def delayed_after_one_attempt(manager: JobQueueManager, job_id: str) -> Job | None:
    job = await manager.get_job("plain", job_id)
    if job is not None and job.attempts_made == 1 and job.state is JobState.DELAYED:
        return job
    return None
