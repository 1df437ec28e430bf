"""Is the database there? Waiting for it at start, and saying where it is not.

Long-running processes (worker, scheduler, api, run) wait for the server when they
start, so that a fleet started before or during a database restart comes up by itself;
one-shot commands try once and fail with one line. Either way the message names the
server as host, port and database, never with the password.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import suppress

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import PoolTimeout

from pgqueue.db.connect import ATTEMPT_SECONDS
from pgqueue.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

FIRST_DELAY = 0.5
MAX_DELAY = 10.0
"""Backoff between attempts: doubling from half a second, never above ten, so a server
that comes back is noticed within seconds even after a long wait."""

_SERVER_GONE = ("57P01", "57P02", "57P03")
"""admin_shutdown, crash_shutdown, cannot_connect_now (the server is starting up)."""


def target(url: str) -> dict[str, str]:
    """Host, port, database and user of `url`: the parts fit to print."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return {"host": "?", "port": "?", "dbname": "?", "user": "?"}
    return {
        "host": str(parts.get("host") or parts.get("hostaddr") or "localhost"),
        "port": str(parts.get("port") or 5432),
        "dbname": str(parts.get("dbname") or parts.get("user") or ""),
        "user": str(parts.get("user") or ""),
    }


def describe(url: str) -> str:
    where = target(url)
    return f"{where['host']}:{where['port']}/{where['dbname']}"


def cause(exc: BaseException) -> str:
    """The reason in a few words: libpq's first line without the parts `describe` says."""
    if isinstance(exc, PoolTimeout):
        return "no connection within the pool's timeout"
    original = getattr(exc, "orig", None)
    if isinstance(original, BaseException):
        exc = original
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first.rpartition(" failed: ")[2] or first


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "the server is not there", not "the statement is wrong"."""
    if isinstance(exc, PoolTimeout | DatabaseUnavailableError):
        return True
    original = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    if isinstance(original, BaseException):
        exc = original
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    if state == "08P01":  # protocol_violation: a bug or a pooler misconfiguration
        return False
    return state is None or state.startswith("08") or state in _SERVER_GONE


def unavailable_error(url: str, exc: BaseException) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(f"cannot reach the database at {describe(url)}: {cause(exc)}")


def check_reachable(url: str, timeout: float = ATTEMPT_SECONDS) -> None:
    """One attempt; `DatabaseUnavailableError` naming the server if it fails."""
    try:
        psycopg.connect(url, connect_timeout=max(int(timeout), 1), autocommit=True).close()
    except psycopg.Error as exc:
        if not is_unavailable(exc):
            raise
        raise unavailable_error(url, exc) from exc


async def _attempt(url: str, seconds: float) -> None:
    try:
        conn = await psycopg.AsyncConnection.connect(
            url, connect_timeout=max(int(seconds), 1), autocommit=True
        )
    except psycopg.Error as exc:
        if not is_unavailable(exc):
            raise
        raise unavailable_error(url, exc) from exc
    await conn.close()


async def wait_for_database(
    url: str, timeout: float, stop: asyncio.Event, *, deadline: float | None = None
) -> bool:
    """Connect until it works, for up to `timeout` seconds: one warning per failed
    attempt naming host, port and cause, capped exponential backoff with jitter (so a
    fleet restarted together does not knock in step), then `DatabaseUnavailableError`.
    False when `stop` was set meanwhile. A caller that waits again within one budget
    passes its `deadline` (on `time.monotonic()`): the error still names the whole
    `timeout`, not what was left of it."""
    if deadline is None:
        deadline = time.monotonic() + timeout
    delay = FIRST_DELAY
    attempt = 0
    where = target(url)
    while not stop.is_set():
        attempt += 1
        try:
            await _attempt(url, min(ATTEMPT_SECONDS, max(deadline - time.monotonic(), 1)))
        except DatabaseUnavailableError as exc:
            reason = cause(exc.__cause__ or exc)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseUnavailableError(
                    f"gave up after {timeout:g}s waiting for the database at "
                    f"{describe(url)}: {reason}"
                ) from exc.__cause__
            pause = min(left, delay / 2 + random.uniform(0, delay / 2))
            logger.warning(
                f"database at {where['host']}:{where['port']} unreachable ({reason}); "
                f"attempt {attempt}, next in {pause:.1f}s",
                extra={
                    "action": "database_wait",
                    "host": where["host"],
                    "port": where["port"],
                    "attempt": attempt,
                    "cause": reason,
                },
            )
            with suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await stop.wait()
            delay = min(delay * 2, MAX_DELAY)
            continue
        if attempt > 1:
            logger.info(
                f"database at {where['host']}:{where['port']} reachable",
                extra={"action": "database_reachable", "attempt": attempt},
            )
        return True
    return False
