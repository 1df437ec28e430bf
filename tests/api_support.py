"""What the API tests share: an app on the test's database, and credentials of every kind.

Requests go through the ASGI app in the test's own event loop, so the app can use the
`manager` fixture's pool; the lifespan is entered by hand because the transport does
not run it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx2
import jwt
import psycopg
import pytest

from pgqueue import JobQueueManager
from pgqueue.admin.tokens import new_token, token_hash
from pgqueue.asgi import create_app
from pgqueue.config import Settings
from pgqueue.store import auth_ops
from pgqueue.store.aio import execute

JWT_SECRET = "a-test-secret-long-enough-for-every-hmac-algorithm-pyjwt-knows-of"


async def make_token(db_url: str, role: str, name: str, ttl_seconds: int = 3600) -> str:
    token = new_token()
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await execute(conn, auth_ops.create_token(name, token_hash(token), role, ttl_seconds))
    return token


async def revoke(db_url: str, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await execute(conn, auth_ops.revoke_token(name))


def make_jwt(claims: dict[str, Any], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: httpx2.AsyncClient
    admin: dict[str, str]
    service: dict[str, str]
    user: dict[str, str]
    expired: dict[str, str]
    revoked: dict[str, str]

    async def get(self, path: str, **kw: Any) -> httpx2.Response:
        return await self.client.get(path, headers=kw.pop("headers", self.admin), **kw)

    async def post(self, path: str, **kw: Any) -> httpx2.Response:
        return await self.client.post(path, headers=kw.pop("headers", self.admin), **kw)

    async def delete(self, path: str, **kw: Any) -> httpx2.Response:
        return await self.client.delete(path, headers=kw.pop("headers", self.admin), **kw)


def data_of(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def error_of(response: httpx2.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
async def api(manager: JobQueueManager, db_url: str, settings: Settings) -> AsyncIterator[Api]:
    app = create_app(manager, replace(settings, jwt_secret=JWT_SECRET))
    credentials = {
        "admin": bearer(await make_token(db_url, "ADMIN", "ops-admin")),
        "service": bearer(await make_token(db_url, "SERVICE", "billing-service")),
        "user": bearer(await make_token(db_url, "USER", "some-user")),
        "expired": bearer(await make_token(db_url, "ADMIN", "old-admin", ttl_seconds=-60)),
        "revoked": bearer(await make_token(db_url, "ADMIN", "gone-admin")),
    }
    await revoke(db_url, "gone-admin")
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield Api(client, **credentials)


def jwt_for(role: str, sub: str = "alice", lifetime: int = 300) -> dict[str, str]:
    return bearer(make_jwt({"sub": sub, "role": role, "exp": int(time.time()) + lifetime}))


# (method, path, JSON body) of every route that needs a credential.
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/jobs/queues", None),
    ("GET", "/api/v1/jobs/queues/email/stats", None),
    ("GET", "/api/v1/jobs/queues/email/failed?start=0&end=10", None),
    ("GET", "/api/v1/jobs/queues/email/jobs?state=waiting", None),
    ("POST", "/api/v1/jobs/queues/email/jobs", {"name": "welcome", "data": {"to": "a@b.c"}}),
    ("GET", "/api/v1/jobs/queues/email/job/{id}", None),
    ("DELETE", "/api/v1/jobs/queues/email/job/{other}", None),
    ("POST", "/api/v1/jobs/queues/email/job/{failed}/retry", None),
    ("POST", "/api/v1/jobs/queues/email/job/{delayed}/promote", None),
    ("POST", "/api/v1/jobs/queues/email/retry-failed", None),
    ("POST", "/api/v1/jobs/queues/email/pause", None),
    ("POST", "/api/v1/jobs/queues/email/resume", None),
    ("POST", "/api/v1/jobs/queues/email/clean", {"grace": 0, "status": "completed"}),
    ("GET", "/api/v1/jobs/repeatable", None),
    ("DELETE", "/api/v1/jobs/repeatable/{key}", None),
    ("GET", "/api/v1/jobs/audit", None),
    ("GET", "/api/v1/jobs/queues/email/metrics?minutes=5", None),
]


async def targets(manager: JobQueueManager, failed: str | None = None) -> dict[str, str]:
    """Things for the routes to act on, so that an allowed call can succeed."""
    waiting = await manager.add_job("email", "welcome", {"to": "a@b.c"})
    other = await manager.add_job("email", "welcome", {"to": "d@e.f"})
    delayed = await manager.add_delayed_job("email", "later", {}, 3_600_000)
    key = await manager.add_repeating_job("email", "digest", {}, "0 9 * * *")
    ids = {"id": waiting.id, "other": other.id, "delayed": delayed.id, "key": key}
    return {**ids, "failed": failed or waiting.id}


async def writes(db_url: str) -> tuple[int, int, int]:
    """Jobs, audit rows and paused queues: none of them may change on a refused call."""
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM pgqueue_jobs), (SELECT count(*) FROM pgqueue_audit_log),"
            " (SELECT count(*) FROM pgqueue_queues WHERE paused)"
        )
        row = await cur.fetchone()
    assert row is not None
    return row[0], row[1], row[2]
