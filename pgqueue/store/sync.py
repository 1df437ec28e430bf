"""Generated from `pgqueue/store/aio.py` by `make twins` (tools/twins.py).

Edit that file, not this one: `make lint` fails when the two disagree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from psycopg import Connection, Pipeline
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import ConnectionPool

from pgqueue.config import Settings
from pgqueue.db.availability import is_unavailable, unavailable_error
from pgqueue.db.connect import RECONNECT_SECONDS, sync_pool
from pgqueue.store.external import (
    RELEASE_SQL,
    ROLLBACK_SQL,
    SAVEPOINT_SQL,
    sync_driver_connection,
)
from pgqueue.store.ops import CopyOp, Op

T = TypeVar("T")
U = TypeVar("U")
IDLE = TransactionStatus.IDLE
INTRANS = TransactionStatus.INTRANS
INERROR = TransactionStatus.INERROR


PIPELINE = Pipeline.is_supported()


def execute(conn: Connection[Any], op: Op[T], prepare: bool = True) -> T:
    """`prepare=False` (behind a transaction pooler) overrides what the operation asks."""
    prepared = op.prepare if prepare else False
    rows_as = tuple_row if op.tuples else dict_row
    with conn.cursor(row_factory=rows_as, binary=op.tuples) as cur:
        if prepared and op.one_round_trip and PIPELINE:
            # The first run on a connection prepares the statement: in a pipeline the
            # Parse goes out with the Bind and Execute instead of waiting for its answer.
            with conn.pipeline():
                cur.execute(op.sql, op.params, prepare=True)
        else:
            cur.execute(op.sql, op.params, prepare=prepared)
        rows = cur.fetchall() if cur.description else []
    return op.read(rows)


def copy_in(conn: Connection[Any], op: CopyOp[T], prepare: bool = True) -> T:
    """Run a bulk load on `conn` (ours, idle, in autocommit) in a transaction of its own.

    BEGIN goes out with the prelude and COMMIT with the last statement, each pair in one
    pipeline where the driver has them: the load takes three round trips, not five."""
    if not PIPELINE:
        with conn.transaction():
            head = execute(conn, op.prelude, prepare)
            _copy(conn, op, head)
            execute(conn, op.after(head), prepare)
        return op.read(head)
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            with conn.pipeline():
                conn.execute("BEGIN")
                cur.execute(
                    op.prelude.sql, op.prelude.params, prepare=op.prelude.prepare and prepare
                )
            head = op.prelude.read(cur.fetchall())
        _copy(conn, op, head)
        last = op.after(head)
        with conn.pipeline():
            conn.execute(last.sql, last.params)
            conn.execute("COMMIT")
    except BaseException:
        if conn.info.transaction_status in (INTRANS, INERROR):
            conn.execute("ROLLBACK")
        raise
    return op.read(head)


def _copy(conn: Connection[Any], op: CopyOp[Any], head: Any) -> None:
    with conn.cursor() as cur, cur.copy(op.copy) as copy:
        for chunk in op.chunks(head):
            copy.write(chunk)


class SyncUnit:
    """Operations run in one transaction: all of them take effect, or none."""

    def __init__(self, conn: Connection[Any], prepare: bool) -> None:
        self._conn = conn
        self._prepare = prepare

    def run(self, op: Op[T]) -> T:
        return execute(self._conn, op, self._prepare)


class SyncStore:
    """Every operation is one round trip on a pooled autocommit connection.

    `prepare=False` is for transaction poolers, where a prepared statement would be
    looked for on whichever server session the next transaction lands on. A lost
    database surfaces as `DatabaseUnavailableError`, naming the server.
    """

    def __init__(self, pool: ConnectionPool, *, prepare: bool = True) -> None:
        self.pool = pool
        self.prepare = prepare
        self._url = pool.conninfo if isinstance(pool.conninfo, str) else ""

    @contextmanager
    def _connection(self) -> Iterator[Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except Exception as exc:
            if is_unavailable(exc):
                raise unavailable_error(self._url, exc) from exc
            raise

    def run(self, op: Op[T]) -> T:
        with self._connection() as conn:
            if op.atomic:
                with conn.transaction():
                    return execute(conn, op, self.prepare)
            return execute(conn, op, self.prepare)

    def run_copy(self, op: CopyOp[T]) -> T:
        with self._connection() as conn:
            return copy_in(conn, op, self.prepare)

    def run_after(self, first: Op[Any], op: Op[T]) -> T:
        """`first`, then `op`, in one transaction: `op` gets a snapshot taken after
        `first` ran, so it sees whatever committed while `first` waited for a lock."""
        with self._connection() as conn, conn.transaction():
            execute(conn, first, self.prepare)
            return execute(conn, op, self.prepare)

    def run_chain(self, first: Op[U], then: Callable[[U], Op[T]]) -> T:
        """`first`, then the operation its result calls for, in one transaction."""
        with self._connection() as conn, conn.transaction():
            return execute(conn, then(execute(conn, first, self.prepare)), self.prepare)

    @contextmanager
    def transaction(self) -> Iterator[SyncUnit]:
        """`async with store.transaction() as unit: await unit.run(op)`: a unit of work
        on one connection, committed when the block ends, rolled back if it raises."""
        with self._connection() as conn, conn.transaction():
            yield SyncUnit(conn, self.prepare)

    def close(self) -> None:
        self.pool.close()

    def run_in(self, connection: object, op: Op[T]) -> T:
        """Run on the caller's connection, in its transaction, behind a savepoint.

        The savepoint, the statement and the release go out together in one pipeline:
        one round trip. Only an error costs a second, to roll back to the savepoint. An
        `atomic` operation, whose reading of the rows may still undo the statement, is
        read before the savepoint is released."""
        conn = sync_driver_connection(connection)
        if conn.autocommit and conn.info.transaction_status == IDLE:
            return execute(conn, op, self.prepare)
        if op.atomic or not PIPELINE:
            conn.execute(SAVEPOINT_SQL)
            try:
                result = execute(conn, op, self.prepare)
            except BaseException:
                conn.execute(ROLLBACK_SQL)
                raise
            conn.execute(RELEASE_SQL)
            return result
        with conn.cursor(row_factory=dict_row) as cur:
            try:
                with conn.pipeline():
                    conn.execute(SAVEPOINT_SQL)
                    cur.execute(op.sql, op.params, prepare=op.prepare if self.prepare else False)
                    conn.execute(RELEASE_SQL)
            except BaseException:
                if conn.info.transaction_status == INERROR:
                    conn.execute(ROLLBACK_SQL)
                raise
            rows = cur.fetchall() if cur.description else []
        return op.read(rows)


def open_store(
    url: str,
    settings: Settings,
    *,
    min_size: int = 1,
    max_size: int = 10,
    check: bool = True,
    wait: bool = True,
    open_timeout: float = 10.0,
    borrow_timeout: float = 30.0,
    reconnect_timeout: float | None = None,
    name: str | None = None,
    hot_path: bool = False,
) -> SyncStore:
    """A store on a new pool, set up for a transaction pooler when `settings` say so.

    `wait=False` returns at once and lets the pool connect in the background; otherwise
    the pool's first connections must open within `open_timeout` seconds or
    `DatabaseUnavailableError`. `hot_path` is the worker's store: see `sync_pool`.
    """
    pool = sync_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        pgbouncer=settings.pgbouncer,
        check=check,
        timeout=borrow_timeout,
        reconnect_timeout=reconnect_timeout or RECONNECT_SECONDS,
        name=name,
        hot_path=hot_path,
    )
    try:
        pool.open(wait=wait, timeout=open_timeout)
    except Exception as exc:
        pool.close()
        if is_unavailable(exc):
            raise unavailable_error(url, exc) from exc
        raise
    return SyncStore(pool, prepare=not settings.pgbouncer)
