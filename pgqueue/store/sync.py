"""Generated from `pgqueue/store/aio.py` by `make twins` (tools/twins.py).

Edit that file, not this one: `make lint` fails when the two disagree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from pgqueue.store.external import SAVEPOINT, sync_driver_connection
from pgqueue.store.ops import CopyOp, Op

T = TypeVar("T")
U = TypeVar("U")


def execute(conn: Connection[Any], op: Op[T]) -> T:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(op.sql, op.params, prepare=op.prepare)
        rows = cur.fetchall() if cur.description else []
    return op.read(rows)


def copy_in(conn: Connection[Any], op: CopyOp[T]) -> T:
    """Run a bulk load on `conn`, which must be in a transaction."""
    head = execute(conn, op.prelude)
    with conn.cursor() as cur, cur.copy(op.copy) as copy:
        copy.set_types(list(op.types))
        for row in op.rows(head):
            copy.write_row(row)
    execute(conn, op.after(head))
    return op.read(head)


class SyncStore:
    """Every operation is one round trip on a pooled autocommit connection."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def run(self, op: Op[T]) -> T:
        with self.pool.connection() as conn:
            if op.atomic:
                with conn.transaction():
                    return execute(conn, op)
            return execute(conn, op)

    def run_copy(self, op: CopyOp[T]) -> T:
        with self.pool.connection() as conn, conn.transaction():
            return copy_in(conn, op)

    def run_after(self, first: Op[Any], op: Op[T]) -> T:
        """`first`, then `op`, in one transaction: `op` gets a snapshot taken after
        `first` ran, so it sees whatever committed while `first` waited for a lock."""
        with self.pool.connection() as conn, conn.transaction():
            execute(conn, first)
            return execute(conn, op)

    def run_chain(self, first: Op[U], then: Callable[[U], Op[T]]) -> T:
        """`first`, then the operation its result calls for, in one transaction."""
        with self.pool.connection() as conn, conn.transaction():
            return execute(conn, then(execute(conn, first)))

    def run_in(self, connection: object, op: Op[T]) -> T:
        """Run on the caller's connection, in its transaction, behind a savepoint."""
        conn = sync_driver_connection(connection)
        if conn.autocommit and conn.info.transaction_status == 0:  # IDLE: no transaction
            return execute(conn, op)
        conn.execute(f"SAVEPOINT {SAVEPOINT}")
        try:
            result = execute(conn, op)
        except BaseException:
            conn.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        return result
