"""Store operations for readiness (SQL in `sql/health.sql`)."""

from __future__ import annotations

from pgqueue.store.ops import Op
from pgqueue.store.queries import query


def schema_revision() -> Op[str | None]:
    return Op(
        query("schema_revision"), {}, lambda rows: str(rows[0]["version_num"]) if rows else None
    )
