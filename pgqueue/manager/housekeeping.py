"""What the built-in cleanup jobs ask of the database: expired tokens go, old job logs
are taken out in batches to be archived. The cleanup processor's door to the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row

from pgqueue.store import cleanup_ops
from pgqueue.store.sync import execute

Row = dict[str, Any]


def _connect(database_url: str) -> psycopg.Connection[Row]:
    # No prepared statements: safe behind a transaction pooler (PGQUEUE_PGBOUNCER).
    return psycopg.connect(
        database_url, autocommit=True, row_factory=dict_row, prepare_threshold=None
    )


def delete_expired_tokens(database_url: str) -> list[str]:
    """Deletes API tokens past their expiry; returns their names."""
    with _connect(database_url) as conn:
        rows = execute(conn, cleanup_ops.delete_expired_tokens())
    return [r["name"] for r in rows]


def take_old_job_logs(
    database_url: str, older_than_seconds: float, batch: int, keep: Callable[[list[Row]], None]
) -> int:
    """Deletes job log lines older than `older_than_seconds`, `batch` at a time. Each batch
    is handed to `keep` (which archives it) inside the transaction that deletes it, so a
    batch `keep` fails on stays in the table. Returns how many lines were taken."""
    taken = 0
    with _connect(database_url) as conn:
        while True:
            with conn.transaction():
                rows = execute(conn, cleanup_ops.take_old_job_logs(older_than_seconds, batch))
                if rows:
                    keep(rows)
            taken += len(rows)
            if len(rows) < batch:
                return taken
