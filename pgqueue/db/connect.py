"""Where the database is, and pools of connections to it.

Our own connections run in autocommit: every store statement is one round trip with no
BEGIN/COMMIT around it, and statements that must be atomic together open a transaction
explicitly. Pooled connections carry a statement timeout: the server does not notice a
client that died until it writes to it, so without one a statement can outlive its
process by hours. Statements that must be shorter (maintenance) set their own.

The worker's pool (`hot_path`) also turns sequential scans off for its sessions. Its
statements are prepared, and after five runs Postgres may keep one generic plan for
good. Made while the jobs table was empty or all but (a fresh install, a quiet start, a
queue vacuumed down to nothing), that plan reads the whole table to find a claim's or a
completion's rows by id: the cheapest way to read a table of a page or two. Kept, it
read the whole table for every claim and completion of the burst that followed (38 and
60-80 ms a batch of 100 with 50,000 jobs, against 1-2), until autovacuum's next analyze,
a minute or more later. Every statement of the worker has an index that answers it, and
with sequential scans off the planner takes that index whatever size it believes the
table to be; where no index applies it still scans.

Behind a transaction pooler (`PGQUEUE_PGBOUNCER=true`) a connection is a different
server session from one transaction to the next, so nothing here prepares statements on
the server, and what needs a session (LISTEN, session advisory locks, migrations) goes
to `PGQUEUE_DIRECT_URL` or does not happen at all.
"""

from __future__ import annotations

import os
import select
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from pgqueue.config import Settings
from pgqueue.db.urls import libpq_url

_embedded_url: str | None = None

STATEMENT_TIMEOUT_MS = 60_000
"""The longest any statement on a pooled connection may run: a bulk enqueue of 100,000
jobs, a report over a month of a busy queue."""


def _session_settings(hot_path: bool) -> str:
    """What a pooled connection sets when it opens, in one round trip."""
    settings = {"statement_timeout": str(STATEMENT_TIMEOUT_MS)}
    if hot_path:
        settings["enable_seqscan"] = "off"
    return "SELECT " + ", ".join(f"set_config('{k}', '{v}', false)" for k, v in settings.items())


def _quiet(conn: AsyncConnection[Any] | Connection[Any]) -> bool:
    """An idle connection with nothing to read: the server has not closed it. A server
    that ends a session (restart, failover, a terminated backend) says so or closes the
    socket, and either makes the socket readable at once, which a poll sees without a
    round trip. Anything else is asked of the server, as the pool's own check does."""
    if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


async def _check_async(conn: AsyncConnection[Any]) -> None:
    if not _quiet(conn):
        await AsyncConnectionPool.check_connection(conn)


def _check_sync(conn: Connection[Any]) -> None:
    if not _quiet(conn):
        ConnectionPool.check_connection(conn)


def _configure_async(hot_path: bool) -> Callable[[AsyncConnection[Any]], Awaitable[None]]:
    settings = _session_settings(hot_path)

    async def configure(conn: AsyncConnection[Any]) -> None:
        await conn.execute(settings)

    return configure


def _configure_sync(hot_path: bool) -> Callable[[Connection[Any]], None]:
    settings = _session_settings(hot_path)

    def configure(conn: Connection[Any]) -> None:
        conn.execute(settings)

    return configure


ATTEMPT_SECONDS = 5
"""libpq's `connect_timeout` for one attempt: a host that drops packets costs this long,
not the kernel's minutes-long TCP timeout."""

RECONNECT_SECONDS = 3600.0
"""How long a pool keeps re-opening connections lost in an outage before it stops
trying on its own; it opens new ones on demand either way."""


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


def session_url(url: str, settings: Settings) -> str | None:
    """Where LISTEN, session advisory locks and migrations go: the direct URL when one
    is set, else `url` unless that is a transaction pooler (then None: do without)."""
    if settings.direct_url:
        return libpq_url(settings.direct_url)
    return None if settings.pgbouncer else url


def connection_kwargs(pgbouncer: bool) -> dict[str, Any]:
    """Arguments for every connection pgqueue opens. `prepare_threshold=None` stops
    psycopg from preparing statements on its own; the executors never force it then."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "row_factory": dict_row,
        "connect_timeout": ATTEMPT_SECONDS,
    }
    if pgbouncer:
        kwargs["prepare_threshold"] = None
    return kwargs


def async_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    pgbouncer: bool = False,
    check: bool = True,
    timeout: float = 30.0,
    reconnect_timeout: float = RECONNECT_SECONDS,
    name: str | None = None,
    hot_path: bool = False,
) -> AsyncConnectionPool:
    """An unopened pool; the caller opens it (`await pool.open()`) inside its loop.

    `check` tests each connection before handing it out, so that a connection the server
    dropped (restart, failover) is replaced instead of failing the caller's statement. It
    looks at the socket first and asks the server (an empty query, a round trip) only
    when something is waiting there; the worker's hot path, which retries its own
    statements, turns it off.

    `hot_path` is the worker's pool: its sessions plan without sequential scans (see
    the module's docstring).
    """
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=connection_kwargs(pgbouncer),
        # Behind a transaction pooler a session SET would land on whichever server
        # session ran it, for whoever gets that session next: not set at all there.
        configure=None if pgbouncer else _configure_async(hot_path),
        open=False,
        check=_check_async if check else None,
        timeout=timeout,
        reconnect_timeout=reconnect_timeout,
        name=name,
    )


def sync_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    pgbouncer: bool = False,
    check: bool = True,
    timeout: float = 30.0,
    reconnect_timeout: float = RECONNECT_SECONDS,
    name: str | None = None,
    hot_path: bool = False,
) -> ConnectionPool:
    """Blocking twin of `async_pool`."""
    return ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs=connection_kwargs(pgbouncer),
        configure=None if pgbouncer else _configure_sync(hot_path),
        open=False,
        check=_check_sync if check else None,
        timeout=timeout,
        reconnect_timeout=reconnect_timeout,
        name=name,
    )


async def async_connect(url: str) -> AsyncConnection[DictRow]:
    """A dedicated connection (LISTEN) outside any pool; always a direct session."""
    return await AsyncConnection.connect(url, **connection_kwargs(pgbouncer=False))
