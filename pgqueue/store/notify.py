"""LISTEN/NOTIFY: the one channel on which statements announce jobs that became ready.

Statements that make a job ready (enqueue, retry, promote, resume, rescue) send
`pg_notify(CHANNEL, '<queue> <epoch ms when ready>')` in the same transaction, so a
notification is delivered exactly when its jobs are visible. LISTEN needs a session of
its own: on a direct connection, never through a transaction pooler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pgqueue.db.connect import async_connect

CHANNEL = "pgqueue_jobs"


@asynccontextmanager
async def listen(
    url: str, channels: Sequence[str] = (CHANNEL,)
) -> AsyncIterator[AsyncIterator[tuple[str, str]]]:
    """`async with listen(url, channels) as notices:` is listening once entered;
    `notices` yields (channel, payload) until the connection is lost."""
    async with await async_connect(url) as conn:
        for channel in channels:
            await conn.execute(f"LISTEN {channel}")

        async def notices() -> AsyncIterator[tuple[str, str]]:
            async for notice in conn.notifies():
                yield notice.channel, notice.payload

        yield notices()


def job_ready(payload: str) -> tuple[str, int]:
    """A `CHANNEL` payload as (queue, epoch ms when ready, 0 for now)."""
    queue, _, at = payload.partition(" ")
    return queue, int(at) if at.isdigit() else 0
