"""Revision 0015 stores a job's options as `json`: what was stored before reads back the
same after the upgrade and after a downgrade, and every way in writes options that read
back as they were given."""

from __future__ import annotations

from typing import Any

import psycopg
from alembic import command
from psycopg.rows import dict_row

from pgqueue import JobQueueManager
from pgqueue.db import migrate
from pgqueue.store import bulk_ops

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
