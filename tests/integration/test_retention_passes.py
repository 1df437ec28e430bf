"""Retention passes: what they delete, and that each pass stays within its batch."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.rows import dict_row

from pgqueue.config import Settings
from pgqueue.registry import Registry
from pgqueue.store import ops
from pgqueue.store.sync import execute
from pgqueue.worker import runner
from tests.helpers import RunWorker, wait_for

# name, state, keep_completed, keep_completed_age, keep_failed, finished this long ago
ROWS = (
    [("forever", "completed", None, None, None, f"{5 + i} hours") for i in range(5)]
    + [("count", "completed", 3, None, None, f"{10 - i} minutes") for i in range(10)]
    + [("aged", "completed", None, 60, None, "2 hours") for _ in range(3)]
    + [("young", "completed", None, 60, None, "1 second") for _ in range(2)]
    + [("failed", "failed", None, None, 1, f"{4 - i} minutes") for i in range(4)]
)

INSERT = """
INSERT INTO pgqueue_jobs (queue, name, data, state, keep_completed, keep_completed_age,
                          keep_failed, finished_at)
VALUES ('q', %s, '{}', %s, %s, %s, %s, now() - %s::interval)
"""


def prune(conn: psycopg.Connection[dict[str, object]], limit: int) -> int:
    with conn.transaction():
        return execute(conn, ops.prune_finished(limit))


def test_prune_keeps_counts_and_ages_and_never_more_than_its_batch(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        with conn.cursor() as cur:
            cur.executemany(INSERT, ROWS)
        passes = []
        while deleted := prune(conn, limit=4):
            passes.append(deleted)
        left = conn.execute(
            "SELECT name, count(*) AS n FROM pgqueue_jobs GROUP BY name ORDER BY name"
        ).fetchall()
        counted = conn.execute(
            "SELECT state, sum(n)::int AS n FROM pgqueue_finished_counts GROUP BY state "
            "ORDER BY state"
        ).fetchall()
    assert all(n <= 4 for n in passes) and sum(passes) == 15
    # Ranked among all 20 completed jobs, newest first: the two young ones, then the
    # count-kept ones, of which only the newest is within its 3.
    assert {r["name"]: r["n"] for r in left} == {
        "count": 1,
        "failed": 1,
        "forever": 5,
        "young": 2,
    }
    assert [(r["state"], r["n"]) for r in counted] == [("completed", 8), ("failed", 1)]


def test_prune_leaves_jobs_kept_forever_alone(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        with conn.cursor() as cur:
            cur.executemany(INSERT, [r for r in ROWS if r[0] == "forever"])
        assert prune(conn, limit=100) == 0
        assert conn.execute("SELECT count(*) AS n FROM pgqueue_jobs").fetchone() == {"n": 5}


async def test_worker_keeps_pruning_while_a_batch_is_not_enough(
    db_url: str, run_worker: RunWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention must keep up with any drain: a pass that deleted a full batch is followed
    by another at once, not after the maintenance interval (2 s here, 8 passes needed)."""
    monkeypatch.setattr(runner, "PRUNE_BATCH", 5)
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as conn:
        with conn.cursor() as cur:
            cur.executemany(INSERT, [("count", "completed", 0, None, None, "1 minute")] * 40)
        slow_passes = Settings(lease_seconds=6.0, heartbeat_seconds=0.5, poll_interval=0.2)
        async with run_worker(Registry(), {"test": 1}, slow_passes):
            await wait_for(lambda: _left(conn) == 0, timeout=8.0)


def _left(conn: psycopg.Connection[dict[str, object]]) -> object:
    row = conn.execute("SELECT count(*) AS n FROM pgqueue_jobs").fetchone()
    return None if row is None else row["n"]
