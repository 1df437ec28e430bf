"""Claiming and completing cost the same per job at any batch size, in the plan Postgres
caches for them, and whatever the statistics say.

The hot path's statements are prepared, and after five runs Postgres may keep one
generic plan, made without the parameters' values. Such a plan once walked a completion
batch's whole list of ids for every job of the batch: a cost that grew with the square
of the batch, so the larger batches of a busy worker were the slowest per job. Counted
here in buffer accesses, which, unlike time, do not depend on the machine's load.

A vacuum of a queue that had just been emptied leaves statistics of a table with
almost no rows. The jobs of the next burst were then completed by walking the whole
table for every batch and matching each row against each job of the batch. Counted
here in the rows the plan's filters looked at and threw away.

The ready index is keyed on a hash of the queue's name: every statement that reads one
queue's ready jobs must name the hash, or it reads every queue's. Counted here in rows.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import tuple_row

from pgqueue.config import Settings
from pgqueue.manager.worker_service import WorkerService
from pgqueue.models import JobState
from pgqueue.store import dashboard_ops, feature_ops, ops

SMALL, LARGE = 100, 1000


def positional(sql: str) -> tuple[str, list[str]]:
    """`sql` with its named placeholders numbered, as PREPARE takes them, and the names
    in their numbers' order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), names


def explained(conn: psycopg.Connection[Any], op: ops.Op[Any]) -> dict[str, Any]:
    """The plan of one run of `op` as a prepared statement, under the connection's
    `plan_cache_mode` (the run is real)."""
    text, names = positional(op.sql)
    statement = f"measured_{uuid.uuid4().hex}"
    conn.execute(f"PREPARE {statement} AS {text}")
    values = ", ".join(["%s"] * len(names))
    cur = psycopg.ClientCursor(conn)
    cur.execute(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE {statement}({values})",
        [op.params[name] for name in names],
    )
    row = cur.fetchone()
    conn.execute(f"DEALLOCATE {statement}")
    assert row is not None
    plan: dict[str, Any] = (row[0] if isinstance(row[0], list) else json.loads(row[0]))[0]
    return plan["Plan"]


def generic_buffers(conn: psycopg.Connection[Any], op: ops.Op[Any]) -> int:
    """Buffer accesses of one run of `op` under its generic plan (the run is real)."""
    plan = explained(conn, op)
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


def per_job(conn: psycopg.Connection[Any], batch: int) -> tuple[float, float]:
    """Buffer accesses per job of claiming `batch` jobs and of completing them."""
    queue = f"cost{batch}"
    conn.execute(
        "INSERT INTO pgqueue_jobs (queue, name, data, opts)"
        " SELECT %s, 'x', jsonb_build_object('n', n), '{}' FROM generate_series(1, %s) AS n",
        (queue, batch),
    )
    conn.execute("ANALYZE pgqueue_jobs")
    claim = ops.claim(queue, batch, uuid.uuid4())
    claimed = generic_buffers(conn, claim)
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM pgqueue_jobs WHERE queue = %s AND lease = %s",
            (queue, claim.params["lease"]),
        )
    ]
    assert len(ids) == batch
    completed = generic_buffers(
        conn, ops.complete([(job_id, claim.params["lease"], "null") for job_id in ids])
    )
    done = conn.execute(
        "SELECT count(*) FROM pgqueue_jobs WHERE queue = %s AND state = 'completed'", (queue,)
    ).fetchone()
    assert done == (batch,)
    return claimed / batch, completed / batch


def test_a_large_batch_costs_no_more_per_job_than_a_small_one(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        small_claim, small_complete = per_job(conn, SMALL)
        large_claim, large_complete = per_job(conn, LARGE)
    # Linear: 13 and 20 accesses per job here (a larger batch fills more new pages).
    # The quadratic plan took 90 per job at 100, and 1,249 at 1,000.
    assert large_claim <= 3 * small_claim, (small_claim, large_claim)
    assert large_complete <= 3 * small_complete, (small_complete, large_complete)


def rows_filtered(conn: psycopg.Connection[Any], op: ops.Op[Any]) -> int:
    """Rows the plan of one run of `op` looked at and threw away (the run is real)."""
    nodes = [explained(conn, op)]
    filtered = 0
    while nodes:
        node = nodes.pop()
        filtered += node.get("Rows Removed by Filter", 0)
        filtered += node.get("Rows Removed by Join Filter", 0)
        nodes.extend(node.get("Plans", []))
    return filtered


ROWS = 5_000


def emptied_then_refilled(conn: psycopg.Connection[Any], queue: str, **columns: str) -> None:
    """The statistics a vacuum leaves on a queue it found almost empty (one row on the
    pages of 5,000), then a burst of 5,000 jobs that no analyze has seen yet."""
    extra = "".join(f", {name}" for name in columns)
    values = "".join(f", {value}" for value in columns.values())
    insert = (
        f"INSERT INTO pgqueue_jobs (queue, name, data, opts{extra})"
        f" SELECT %s, 'x', jsonb_build_object('n', n), '{{}}'{values}"
        " FROM generate_series(1, %s) AS n"
    )
    conn.execute(insert, (queue, ROWS))
    # Emptied but for its last row, which keeps vacuum from cutting the file short.
    conn.execute("DELETE FROM pgqueue_jobs WHERE id < (SELECT max(id) FROM pgqueue_jobs)")
    conn.execute("VACUUM pgqueue_jobs")
    stats = conn.execute(
        "SELECT reltuples, relpages FROM pg_class WHERE relname = 'pgqueue_jobs'"
    ).fetchone()
    assert stats is not None and stats[0] <= 1 and stats[1] > 10, stats
    conn.execute(insert, (queue, ROWS))


PLANS = ["force_custom_plan", "force_generic_plan"]


@pytest.mark.parametrize("mode", PLANS)
def test_completions_stay_linear_after_a_vacuum_of_an_emptied_queue(db_url: str, mode: str) -> None:
    batch = 1_000
    with psycopg.connect(db_url, autocommit=True) as conn:
        emptied_then_refilled(conn, "burst")
        claim = ops.claim("burst", batch, uuid.uuid4())
        conn.execute(claim.sql, claim.params)
        lease = claim.params["lease"]
        ids = [r[0] for r in conn.execute("SELECT id FROM pgqueue_jobs WHERE lease = %s", (lease,))]
        assert len(ids) == batch
        conn.execute(f"SET plan_cache_mode = {mode}")
        filtered = rows_filtered(conn, ops.complete([(i, lease, f'{{"n": {i}}}') for i in ids]))
        results = conn.execute(
            "SELECT id, return_value FROM pgqueue_jobs WHERE state = 'completed'"
        ).fetchall()
    # Linear: at most a pass over the table (5,001 rows) and one over the batch. The plan
    # that matched every row against every job threw away 5,001,000.
    assert filtered <= ROWS + 1 + batch, filtered
    assert sorted(results) == sorted((i, {"n": i}) for i in ids)


@pytest.mark.parametrize("mode", PLANS)
def test_clean_stays_linear_after_a_vacuum_of_an_emptied_queue(db_url: str, mode: str) -> None:
    limit = 1_000
    with psycopg.connect(db_url, autocommit=True) as conn:
        emptied_then_refilled(
            conn, "burst", state="'completed'", finished_at="now() - interval '1 hour'"
        )
        conn.execute(f"SET plan_cache_mode = {mode}")
        filtered = rows_filtered(conn, ops.clean("burst", 0, JobState.COMPLETED, limit))
        left = conn.execute("SELECT count(*) FROM pgqueue_jobs WHERE queue = 'burst'").fetchone()
    assert filtered <= ROWS + 1 + limit, filtered
    assert left == (ROWS + 1 - limit,)


def rows_read(conn: psycopg.Connection[Any], op: ops.Op[Any]) -> int:
    """Rows of the jobs table the plan of one run of `op` read, kept or thrown away (the
    run is real)."""
    return rows_in(explained(conn, op))


def rows_in(plan: dict[str, Any]) -> int:
    """Rows of the jobs table a plan read, kept or thrown away."""
    nodes = [plan]
    read = 0
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == "pgqueue_jobs":
            kept = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            read += round(kept * node["Actual Loops"])
        nodes.extend(node.get("Plans", []))
    return read


MINE = 10
"""Ready jobs, and as many delayed, of the queue each statement asks about."""

ONE_QUEUE_READERS: dict[str, Callable[[], ops.Op[Any]]] = {
    "claim": lambda: ops.claim("mine", MINE, uuid.uuid4()),
    "claim_limited": lambda: feature_ops.claim_limited("mine", MINE, uuid.uuid4(), uuid.uuid4()),
    "queue_limits": lambda: feature_ops.queue_limits("mine"),
    "queue_stats": lambda: ops.queue_stats("mine"),
    "promote_delayed": lambda: dashboard_ops.promote_delayed_jobs("mine"),
}
BY_STATE: dict[str, Callable[[], ops.Op[Any]]] = {
    "list_waiting": lambda: ops.list_jobs("mine", JobState.WAITING, 0, 100),
    "list_delayed": lambda: ops.list_jobs("mine", JobState.DELAYED, 0, 100),
    "clean_waiting": lambda: ops.clean("mine", 0, JobState.WAITING, 100),
}
"""The state these take as a parameter picks the index, so Postgres plans them for each
call's values: a plan made without them (forced) reads the whole table."""


@pytest.mark.parametrize(
    ("reader", "mode"),
    [(reader, mode) for reader in ONE_QUEUE_READERS for mode in PLANS]
    + [(reader, "force_custom_plan") for reader in BY_STATE],
)
def test_one_queues_ready_jobs_are_read_without_the_others(
    db_url: str, reader: str, mode: str
) -> None:
    # The ready index is keyed on a hash of the queue's name (migration 0016): a
    # statement that names only the queue would read every ready job of every queue.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO pgqueue_jobs (queue, name, data, opts, run_at)"
            " SELECT CASE WHEN n <= %(rows)s THEN 'other' ELSE 'mine' END, 'x', '{}', '{}',"
            "        now() + CASE WHEN n > %(rows)s + %(mine)s THEN interval '1 hour'"
            "                     ELSE interval '0' END"
            " FROM generate_series(1, %(rows)s + 2 * %(mine)s) AS n",
            {"rows": ROWS, "mine": MINE},
        )
        conn.execute("INSERT INTO pgqueue_queue_limits (queue, concurrency) VALUES ('mine', 50)")
        conn.execute("ANALYZE pgqueue_jobs")
        conn.execute(f"SET plan_cache_mode = {mode}")
        read = rows_read(conn, {**ONE_QUEUE_READERS, **BY_STATE}[reader]())
        others = conn.execute(
            "SELECT count(*) FROM pgqueue_jobs WHERE queue = 'other' AND state = 'waiting'"
        ).fetchone()
    # The queue's own ready and delayed jobs, each read at most twice (the claim finds
    # its rows, then updates them by id); reading the other queue's would be 5,000 more.
    assert read <= 4 * MINE, read
    assert others == (ROWS,)


class Cached:
    """One statement prepared on `conn` and run as the worker runs it: Postgres plans its
    first five runs for their values, then may keep one generic plan for good."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], sql: str) -> None:
        self.conn = conn
        self.text, self.names = positional(sql)
        self.name = f"cached_{uuid.uuid4().hex}"

    async def prepare(self) -> Cached:
        await self.conn.execute(f"PREPARE {self.name} AS {self.text}")
        return self

    async def run(self, op: ops.Op[Any], explain: str = "") -> list[Any]:
        cur = psycopg.AsyncClientCursor(self.conn, row_factory=tuple_row)
        values = ", ".join(["%s"] * len(self.names))
        await cur.execute(
            f"{explain}EXECUTE {self.name}({values})", [op.params[n] for n in self.names]
        )
        return await cur.fetchall()

    async def plan(self, op: ops.Op[Any]) -> dict[str, Any]:
        """The plan of one run of `op` (the run is real)."""
        rows = await self.run(op, "EXPLAIN (ANALYZE, FORMAT JSON) ")
        found = rows[0][0] if isinstance(rows[0][0], list) else json.loads(rows[0][0])
        return dict(found[0]["Plan"])


QUIET = 10
"""Jobs of a quiet start, one at a time: more runs than Postgres plans one by one."""

BURST = 5_000
BATCH = 100

CLAIMS: dict[str, Callable[[uuid.UUID], ops.Op[Any]]] = {
    "claim": lambda worker: ops.claim("quiet", BATCH, worker),
    "claim_limited": lambda worker: feature_ops.claim_limited("quiet", BATCH, worker, uuid.uuid4()),
}


async def quiet_start_then_burst(
    conn: psycopg.AsyncConnection[Any], claim_of: Callable[[uuid.UUID], ops.Op[Any]]
) -> tuple[int, int]:
    """Rows of the jobs table read by a claim of 100 and by their completion, on `conn`,
    after its claim and completion statements ran while the table held one job at a
    time, and the table then grew by a burst of 5,000 jobs that no analyze has seen."""
    worker = uuid.uuid4()
    claim = await Cached(conn, claim_of(worker).sql).prepare()
    complete = await Cached(conn, ops.complete([(1, worker, "null")]).sql).prepare()
    insert = "INSERT INTO pgqueue_jobs (queue, name, data) SELECT 'quiet', 'x', '{}'"

    async def claimed(op: ops.Op[Any]) -> list[int]:
        cur = conn.cursor(row_factory=tuple_row)
        await cur.execute("SELECT id FROM pgqueue_jobs WHERE lease = %s", (op.params["lease"],))
        return [r[0] for r in await cur.fetchall()]

    def completion(op: ops.Op[Any], ids: list[int]) -> ops.Op[Any]:
        return ops.complete([(i, op.params["lease"], "null") for i in ids])

    for _ in range(QUIET):
        await conn.execute(insert)
        op = claim_of(worker)
        await claim.run(op)
        ids = await claimed(op)
        assert len(ids) == 1
        await complete.run(completion(op, ids))
    await conn.execute(insert + " FROM generate_series(1, %s)", (BURST,))
    op = claim_of(worker)
    claim_read = rows_in(await claim.plan(op))
    ids = await claimed(op)
    assert len(ids) == BATCH
    complete_read = rows_in(await complete.plan(completion(op, ids)))
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(
        "SELECT count(*) FROM pgqueue_jobs WHERE state = 'completed' AND id = ANY(%s)", (ids,)
    )
    assert await cur.fetchone() == (BATCH,)
    return claim_read, complete_read


@pytest.mark.parametrize("claim", CLAIMS)
async def test_the_workers_plans_outlast_a_quiet_start(db_url: str, claim: str) -> None:
    # A fresh install, or a queue vacuumed down to nothing: the worker's statements are
    # planned while the table is all but empty, and a whole-table read is the cheapest
    # plan there. Cached, that plan read the whole table for every claim and every
    # completion of the burst that followed (38 and 60-80 ms for 100 jobs of 50,000),
    # until autovacuum came by to analyze it.
    service = await WorkerService.open(db_url, Settings(), queues=1)
    try:
        async with service.store.pool.connection() as conn:
            if claim == "claim_limited":
                await conn.execute(
                    "INSERT INTO pgqueue_queue_limits (queue, concurrency) VALUES ('quiet', 500)"
                )
            claim_read, complete_read = await quiet_start_then_burst(conn, CLAIMS[claim])
    finally:
        await service.close()
    # Each claimed job read a few times through indexes (found, locked, updated); the
    # whole-table plan read the 5,000 and more for each.
    assert claim_read <= 3 * BATCH, claim_read
    assert complete_read <= 4 * BATCH, complete_read


async def test_a_plain_session_caches_the_whole_table_read(db_url: str) -> None:
    # What the worker's sessions are set up against, so that the test above can fail:
    # the same runs on a session with the server's defaults.
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        claim_read, complete_read = await quiet_start_then_burst(conn, CLAIMS["claim"])
    assert claim_read > BURST, claim_read
    assert complete_read > BURST, complete_read
