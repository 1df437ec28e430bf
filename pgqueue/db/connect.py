"""Where the database is, and pools of connections to it.

Our own connections run in autocommit: every store statement is one round trip with no
BEGIN/COMMIT around it, and statements that must be atomic together open a transaction
explicitly. Pooled connections carry a statement timeout: the server does not notice a
client that died until it writes to it, so without one a statement can outlive its
process by hours. Statements that must be shorter (maintenance) set their own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from pgqueue.db.urls import libpq_url

_embedded_url: str | None = None

STATEMENT_TIMEOUT_MS = 60_000
"""The longest any statement on a pooled connection may run: a bulk enqueue of 100,000
jobs, a report over a month of a busy queue."""
_SET_TIMEOUT = f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}"


async def _configure_async(conn: AsyncConnection[Any]) -> None:
    await conn.execute(_SET_TIMEOUT)


def _configure_sync(conn: Connection[Any]) -> None:
    conn.execute(_SET_TIMEOUT)


def resolve_database_url(url: str | None = None) -> str:
    """`url`, else `DATABASE_URL`, else the embedded server (started on first use)."""
    global _embedded_url
    chosen = url or os.environ.get("DATABASE_URL")
    if chosen:
        return libpq_url(chosen)
    if _embedded_url is None:
        from pgqueue.db.embedded import start_embedded

        _embedded_url = start_embedded(Path(os.environ.get("PGQUEUE_HOME", ".pgqueue")))
    return _embedded_url


def async_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool:
    """An unopened pool; the caller opens it (`await pool.open()`) inside its loop."""
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        configure=_configure_async,
        open=False,
    )


def sync_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> ConnectionPool:
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "row_factory": dict_row},
        configure=_configure_sync,
        open=False,
    )


async def async_connect(url: str) -> AsyncConnection[DictRow]:
    """A dedicated connection (LISTEN, advisory locks) outside any pool."""
    return await AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
