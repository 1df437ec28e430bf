"""What every pooled session sets when it opens: a bound on each statement, and for the
worker's pool plans that find rows by index (see `pgqueue.db.connect`)."""

from __future__ import annotations

import pytest
from psycopg.rows import dict_row

from pgqueue.config import Settings
from pgqueue.store.aio import open_store


@pytest.mark.parametrize(("hot_path", "seqscan"), [(False, "on"), (True, "off")])
async def test_pooled_sessions_carry_their_settings(
    db_url: str, hot_path: bool, seqscan: str
) -> None:
    store = await open_store(db_url, Settings(), hot_path=hot_path)
    try:
        async with store.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT current_setting('statement_timeout') AS timeout,"
                " current_setting('enable_seqscan') AS seqscan"
            )
            assert await cur.fetchone() == {"timeout": "1min", "seqscan": seqscan}
    finally:
        await store.close()
