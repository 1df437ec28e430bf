"""Dashboard sessions end when left idle past PGQUEUE_SESSION_IDLE, or at their lifetime."""

from __future__ import annotations

import psycopg

from pgqueue import JobQueueManager
from pgqueue.dashboard import DashboardSettings
from tests.dashboard_support import client_for, sign_in


def age_sessions(db_url: str, column: str, seconds: int) -> None:
    """As if `seconds` had passed since the sessions' last use (or their expiry moved)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE pgqueue_dashboard_sessions SET {column} = {column} - %s * interval '1 second'",
            [seconds],
        )


async def test_a_session_idle_past_the_timeout_ends_and_activity_keeps_it(
    manager: JobQueueManager, db_url: str, tokens: dict[str, str]
) -> None:
    async with client_for(manager, DashboardSettings(idle_seconds=600)) as client:
        await sign_in(client, tokens["ops-admin"])
        age_sessions(db_url, "last_seen_at", 599)
        # Used within the timeout: it lives, and the use counts as activity.
        assert (await client.get("/admin/")).status_code == 200
        age_sessions(db_url, "last_seen_at", 599)
        assert (await client.get("/admin/")).status_code == 200
        age_sessions(db_url, "last_seen_at", 601)
        ended = await client.get("/admin/")
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/admin/login")
        # Signing in again gives a new session; the old cookie does not come back to life.
        await sign_in(client, tokens["ops-admin"])
        assert (await client.get("/admin/")).status_code == 200


async def test_a_session_ends_at_its_lifetime_however_busy(
    manager: JobQueueManager, db_url: str, tokens: dict[str, str]
) -> None:
    async with client_for(manager, DashboardSettings(idle_seconds=600)) as client:
        await sign_in(client, tokens["ops-admin"])
        assert (await client.get("/admin/")).status_code == 200
        age_sessions(db_url, "expires_at", 10 * 86_400)
        ended = await client.get("/admin/")
        assert ended.status_code == 303
        assert ended.headers["location"].startswith("/admin/login")
