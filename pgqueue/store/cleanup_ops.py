"""Store operations for the built-in cleanup jobs (SQL in `sql/cleanup.sql`)."""

from __future__ import annotations

from pgqueue.store.ops import Op, Row
from pgqueue.store.queries import query


def delete_expired_tokens() -> Op[list[Row]]:
    return Op(query("delete_expired_tokens"), {}, lambda rows: rows)


def take_old_job_logs(older_than_seconds: float, limit: int) -> Op[list[Row]]:
    """Deletes and returns a batch: run it in a transaction that also archives the rows."""
    return Op(
        query("take_old_job_logs"),
        {"older_than_seconds": older_than_seconds, "limit": limit},
        lambda rows: rows,
    )
