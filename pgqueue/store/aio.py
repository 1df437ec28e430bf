"""Runs store operations on asyncio: our pool, or the caller's connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from pgqueue.store.external import SAVEPOINT, async_driver_connection
from pgqueue.store.ops import CopyOp, Op

T = TypeVar("T")
U = TypeVar("U")


async def execute(conn: AsyncConnection[Any], op: Op[T]) -> T:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(op.sql, op.params, prepare=op.prepare)
        rows = await cur.fetchall() if cur.description else []
    return op.read(rows)


async def copy_in(conn: AsyncConnection[Any], op: CopyOp[T]) -> T:
    """Run a bulk load on `conn`, which must be in a transaction."""
    head = await execute(conn, op.prelude)
    async with conn.cursor() as cur, cur.copy(op.copy) as copy:
        copy.set_types(list(op.types))
        for row in op.rows(head):
            await copy.write_row(row)
    await execute(conn, op.after(head))
    return op.read(head)


class AsyncStore:
    """Every operation is one round trip on a pooled autocommit connection."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def run(self, op: Op[T]) -> T:
        async with self.pool.connection() as conn:
            if op.atomic:
                async with conn.transaction():
                    return await execute(conn, op)
            return await execute(conn, op)

    async def run_copy(self, op: CopyOp[T]) -> T:
        async with self.pool.connection() as conn, conn.transaction():
            return await copy_in(conn, op)

    async def run_after(self, first: Op[Any], op: Op[T]) -> T:
        """`first`, then `op`, in one transaction: `op` gets a snapshot taken after
        `first` ran, so it sees whatever committed while `first` waited for a lock."""
        async with self.pool.connection() as conn, conn.transaction():
            await execute(conn, first)
            return await execute(conn, op)

    async def run_chain(self, first: Op[U], then: Callable[[U], Op[T]]) -> T:
        """`first`, then the operation its result calls for, in one transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            return await execute(conn, then(await execute(conn, first)))

    async def run_in(self, connection: object, op: Op[T]) -> T:
        """Run on the caller's connection, in its transaction, behind a savepoint."""
        conn = await async_driver_connection(connection)
        if conn.autocommit and conn.info.transaction_status == 0:  # IDLE: no transaction
            return await execute(conn, op)
        await conn.execute(f"SAVEPOINT {SAVEPOINT}")
        try:
            result = await execute(conn, op)
        except BaseException:
            await conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            raise
        await conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        return result
