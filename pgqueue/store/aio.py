"""Runs store operations on asyncio: our pool, or the caller's connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from psycopg import AsyncConnection, Pipeline
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from pgqueue.config import Settings
from pgqueue.db.availability import is_unavailable, unavailable_error
from pgqueue.db.connect import RECONNECT_SECONDS, async_pool
from pgqueue.store.external import (
    RELEASE_SQL,
    ROLLBACK_SQL,
    SAVEPOINT_SQL,
    async_driver_connection,
)
from pgqueue.store.ops import CopyOp, Op

T = TypeVar("T")
U = TypeVar("U")
IDLE = TransactionStatus.IDLE
INTRANS = TransactionStatus.INTRANS
INERROR = TransactionStatus.INERROR


PIPELINE = Pipeline.is_supported()


async def execute(conn: AsyncConnection[Any], op: Op[T], prepare: bool = True) -> T:
    """`prepare=False` (behind a transaction pooler) overrides what the operation asks."""
    prepared = op.prepare if prepare else False
    rows_as = tuple_row if op.tuples else dict_row
    async with conn.cursor(row_factory=rows_as, binary=op.tuples) as cur:
        if prepared and op.one_round_trip and PIPELINE:
            # The first run on a connection prepares the statement: in a pipeline the
            # Parse goes out with the Bind and Execute instead of waiting for its answer.
            async with conn.pipeline():
                await cur.execute(op.sql, op.params, prepare=True)
        else:
            await cur.execute(op.sql, op.params, prepare=prepared)
        rows = await cur.fetchall() if cur.description else []
    return op.read(rows)


async def copy_in(conn: AsyncConnection[Any], op: CopyOp[T], prepare: bool = True) -> T:
    """Run a bulk load on `conn` (ours, idle, in autocommit) in a transaction of its own.

    BEGIN goes out with the prelude and COMMIT with the last statement, each pair in one
    pipeline where the driver has them: the load takes three round trips, not five."""
    if not PIPELINE:
        async with conn.transaction():
            head = await execute(conn, op.prelude, prepare)
            await _copy(conn, op, head)
            await execute(conn, op.after(head), prepare)
        return op.read(head)
    try:
        async with conn.cursor(row_factory=dict_row) as cur:
            async with conn.pipeline():
                await conn.execute("BEGIN")
                await cur.execute(
                    op.prelude.sql, op.prelude.params, prepare=op.prelude.prepare and prepare
                )
            head = op.prelude.read(await cur.fetchall())
        await _copy(conn, op, head)
        last = op.after(head)
        async with conn.pipeline():
            await conn.execute(last.sql, last.params)
            await conn.execute("COMMIT")
    except BaseException:
        if conn.info.transaction_status in (INTRANS, INERROR):
            await conn.execute("ROLLBACK")
        raise
    return op.read(head)


async def _copy(conn: AsyncConnection[Any], op: CopyOp[Any], head: Any) -> None:
    async with conn.cursor() as cur, cur.copy(op.copy) as copy:
        for chunk in op.chunks(head):
            await copy.write(chunk)


class AsyncUnit:
    """Operations run in one transaction: all of them take effect, or none."""

    def __init__(self, conn: AsyncConnection[Any], prepare: bool) -> None:
        self._conn = conn
        self._prepare = prepare

    async def run(self, op: Op[T]) -> T:
        return await execute(self._conn, op, self._prepare)


class AsyncStore:
    """Every operation is one round trip on a pooled autocommit connection.

    `prepare=False` is for transaction poolers, where a prepared statement would be
    looked for on whichever server session the next transaction lands on. A lost
    database surfaces as `DatabaseUnavailableError`, naming the server.
    """

    def __init__(self, pool: AsyncConnectionPool, *, prepare: bool = True) -> None:
        self.pool = pool
        self.prepare = prepare
        self._url = pool.conninfo if isinstance(pool.conninfo, str) else ""

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        try:
            async with self.pool.connection() as conn:
                yield conn
        except Exception as exc:
            if is_unavailable(exc):
                raise unavailable_error(self._url, exc) from exc
            raise

    async def run(self, op: Op[T]) -> T:
        async with self._connection() as conn:
            if op.atomic:
                async with conn.transaction():
                    return await execute(conn, op, self.prepare)
            return await execute(conn, op, self.prepare)

    async def run_copy(self, op: CopyOp[T]) -> T:
        async with self._connection() as conn:
            return await copy_in(conn, op, self.prepare)

    async def run_after(self, first: Op[Any], op: Op[T]) -> T:
        """`first`, then `op`, in one transaction: `op` gets a snapshot taken after
        `first` ran, so it sees whatever committed while `first` waited for a lock."""
        async with self._connection() as conn, conn.transaction():
            await execute(conn, first, self.prepare)
            return await execute(conn, op, self.prepare)

    async def run_chain(self, first: Op[U], then: Callable[[U], Op[T]]) -> T:
        """`first`, then the operation its result calls for, in one transaction."""
        async with self._connection() as conn, conn.transaction():
            return await execute(conn, then(await execute(conn, first, self.prepare)), self.prepare)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncUnit]:
        """`async with store.transaction() as unit: await unit.run(op)`: a unit of work
        on one connection, committed when the block ends, rolled back if it raises."""
        async with self._connection() as conn, conn.transaction():
            yield AsyncUnit(conn, self.prepare)

    async def close(self) -> None:
        await self.pool.close()

    async def run_in(self, connection: object, op: Op[T]) -> T:
        """Run on the caller's connection, in its transaction, behind a savepoint.

        The savepoint, the statement and the release go out together in one pipeline:
        one round trip. Only an error costs a second, to roll back to the savepoint. An
        `atomic` operation, whose reading of the rows may still undo the statement, is
        read before the savepoint is released."""
        conn = await async_driver_connection(connection)
        if conn.autocommit and conn.info.transaction_status == IDLE:
            return await execute(conn, op, self.prepare)
        if op.atomic or not PIPELINE:
            await conn.execute(SAVEPOINT_SQL)
            try:
                result = await execute(conn, op, self.prepare)
            except BaseException:
                await conn.execute(ROLLBACK_SQL)
                raise
            await conn.execute(RELEASE_SQL)
            return result
        async with conn.cursor(row_factory=dict_row) as cur:
            try:
                async with conn.pipeline():
                    await conn.execute(SAVEPOINT_SQL)
                    await cur.execute(
                        op.sql, op.params, prepare=op.prepare if self.prepare else False
                    )
                    await conn.execute(RELEASE_SQL)
            except BaseException:
                if conn.info.transaction_status == INERROR:
                    await conn.execute(ROLLBACK_SQL)
                raise
            rows = await cur.fetchall() if cur.description else []
        return op.read(rows)


async def open_store(
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
) -> AsyncStore:
    """A store on a new pool, set up for a transaction pooler when `settings` say so.

    `wait=False` returns at once and lets the pool connect in the background; otherwise
    the pool's first connections must open within `open_timeout` seconds or
    `DatabaseUnavailableError`. `hot_path` is the worker's store: see `async_pool`.
    """
    pool = async_pool(
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
        await pool.open(wait=wait, timeout=open_timeout)
    except Exception as exc:
        await pool.close()
        if is_unavailable(exc):
            raise unavailable_error(url, exc) from exc
        raise
    return AsyncStore(pool, prepare=not settings.pgbouncer)
