"""The caller's own connection, whatever it is, as the psycopg connection beneath it.

Transactional enqueue accepts a SQLAlchemy `Session`/`Connection` (sync or async, on the
psycopg driver), Django's `django.db.connection` (its psycopg 3 backend) or a psycopg
`Connection`/`AsyncConnection`. We write on that connection
inside a SAVEPOINT, so an error of ours rolls back our statement only and leaves the
caller's transaction usable; we never commit.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, Connection

from pgqueue.errors import PgQueueError

SAVEPOINT = "pgqueue_enqueue"
SAVEPOINT_SQL = f"SAVEPOINT {SAVEPOINT}"
RELEASE_SQL = f"RELEASE SAVEPOINT {SAVEPOINT}"
ROLLBACK_SQL = f"ROLLBACK TO SAVEPOINT {SAVEPOINT}"


class UnsupportedConnectionError(PgQueueError, TypeError):
    """Raised when `connection=` is not a SQLAlchemy or psycopg (v3) connection."""


def _unsupported(connection: object) -> UnsupportedConnectionError:
    return UnsupportedConnectionError(
        f"connection= takes a SQLAlchemy Session/Connection on the psycopg driver, Django's "
        f"connection on its psycopg 3 backend or a psycopg connection, got "
        f"{type(connection).__name__}"
    )


def _driver_connection(dbapi: Any, connection: object) -> object:
    raw = getattr(dbapi, "driver_connection", dbapi)
    if not isinstance(raw, Connection | AsyncConnection):
        raise _unsupported(connection)
    return raw


def _is_django(connection: object) -> bool:
    """Django's `connection` (a proxy to the thread's `DatabaseWrapper`), told apart by
    what it has rather than imported, so that Django stays optional."""
    return getattr(connection, "vendor", None) == "postgresql" and hasattr(
        connection, "ensure_connection"
    )


def sync_driver_connection(connection: object) -> Connection[Any]:
    """psycopg Connection under a sync SQLAlchemy Session/Connection, or itself."""
    if isinstance(connection, Connection):
        return connection
    if _is_django(connection):
        # Django connects lazily; inside `transaction.atomic()` this is the connection
        # whose transaction the block commits.
        connection.ensure_connection()  # type: ignore[attr-defined]
        raw = connection.connection  # type: ignore[attr-defined]
        if isinstance(raw, Connection):
            return raw
        raise _unsupported(connection)
    from sqlalchemy.engine import Connection as SAConnection
    from sqlalchemy.orm import Session

    if isinstance(connection, Session):
        connection = connection.connection()
    if isinstance(connection, SAConnection):
        raw = _driver_connection(connection.connection, connection)
        if isinstance(raw, Connection):
            return raw
    raise _unsupported(connection)


async def async_driver_connection(connection: object) -> AsyncConnection[Any]:
    """psycopg AsyncConnection under an async SQLAlchemy session/connection, or itself."""
    if isinstance(connection, AsyncConnection):
        return connection
    from sqlalchemy.ext.asyncio import AsyncConnection as SAAsyncConnection
    from sqlalchemy.ext.asyncio import AsyncSession

    if isinstance(connection, AsyncSession):
        connection = await connection.connection()
    if isinstance(connection, SAAsyncConnection):
        raw = _driver_connection(await connection.get_raw_connection(), connection)
        if isinstance(raw, AsyncConnection):
            return raw
    raise _unsupported(connection)
