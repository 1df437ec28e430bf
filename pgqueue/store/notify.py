"""LISTEN/NOTIFY: the channels, named once here, and listening on them.

Statements that make a job ready (enqueue, retry, promote, resume, rescue) send
`pg_notify(CHANNEL, '<queue> <epoch ms when ready>')` in the same transaction, so a
notification is delivered exactly when its jobs are visible. Statements that cancel a
running job or change a queue's limits tell workers on `CONTROL_CHANNEL`; jobs that end
are announced on `FINISHED_CHANNEL` to whoever waits for them.

Named statements take the channel as a parameter from here. One place still spells the
names: the flow trigger functions in the Alembic revisions (DDL takes no parameters);
renaming a channel means a revision that changes them too. LISTEN needs a session of
its own: on a direct connection, never through a transaction pooler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pgqueue.db.connect import async_connect

CHANNEL = "pgqueue_jobs"
"""Workers listen here: `<queue> <epoch ms when ready>`, 0 for now."""
CONTROL_CHANNEL = "pgqueue_control"
"""Workers listen here: `cancel <queue> <id>` and `limits <queue>`."""
FINISHED_CHANNEL = "pgqueue_finished"
"""Waiters listen here: the payload names the queues (space-separated) whose jobs ended."""


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
