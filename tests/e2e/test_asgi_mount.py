"""`pgqueue.asgi`: the whole admin app mounted inside a user's FastAPI app (whose
lifespan Starlette does not run for the mounted app), and `pgqueue.asgi:app` under a
plain ASGI server."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import uvicorn
from fastapi import FastAPI

from pgqueue import JobQueueManager
from pgqueue.asgi import create_app
from pgqueue.config import Settings
from tests.api_support import bearer, data_of, make_token
from tests.helpers import ROOT, free_port, wait_for


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The host app under a real uvicorn, lifespan on, in this test's event loop."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await wait_for(lambda: server.started or task.done())
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task


async def test_mounted_in_fastapi_it_serves_api_dashboard_and_health(
    db_url: str, settings: Settings
) -> None:
    """Without any lifespan wiring: the pool opens on the first request that needs it."""
    token = bearer(await make_token(db_url, "ADMIN", "ops"))
    queues = create_app(settings=Settings(database_url=db_url))
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app.mount("/queues", queues)
    async with serving(app) as base, httpx2.AsyncClient(base_url=base) as client:
        assert (await client.get("/hello")).json() == {"hello": "world"}
        assert (await client.get("/queues/healthz")).json() == {"status": "ok"}
        assert (await client.get("/queues/readyz")).json()["status"] == "ready"
        added = await client.post(
            "/queues/api/v1/jobs/queues/email/jobs", json={"name": "welcome"}, headers=token
        )
        job = data_of(added, 201)
        stats = data_of(await client.get("/queues/api/v1/jobs/queues/email/stats", headers=token))
        assert stats["waiting"] == 1
        login = await client.get("/queues/admin/", follow_redirects=False)
        assert login.status_code == 303
        assert login.headers["location"] == "/queues/admin/login?next=%2Fqueues%2Fadmin%2F"
        form = await client.get("/queues/admin/login")
        assert form.status_code == 200 and 'action="/queues/admin/login"' in form.text
        assert "Path=/queues/admin" in form.headers["set-cookie"]
    await queues.state.pgqueue_admin.manager.close()  # nobody ran the mounted lifespan
    async with JobQueueManager(db_url) as manager:
        found = await manager.get_job("email", job["id"])
    assert found is not None and found.name == "welcome"


async def test_the_documented_lifespan_hook_closes_the_pool(db_url: str) -> None:
    queues = create_app(settings=Settings(database_url=db_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with queues.router.lifespan_context(queues):
            yield

    app = FastAPI(lifespan=lifespan)
    app.mount("/queues", queues)
    async with serving(app) as base, httpx2.AsyncClient(base_url=base) as client:
        assert (await client.get("/queues/readyz")).status_code == 200
        manager = queues.state.pgqueue_admin.manager
        assert manager._store is not None
    assert manager._store is None


async def test_pgqueue_asgi_app_runs_under_uvicorn_from_the_command_line(db_url: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "pgqueue.asgi:app", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def ready() -> httpx2.Response | None:
                try:
                    return await client.get("/readyz")
                except httpx2.TransportError:
                    assert server.poll() is None, server.communicate()
                    return None

            response = await wait_for(ready, timeout=30)
        assert response.json()["status"] == "ready"
    finally:
        server.terminate()
        server.communicate(timeout=30)
