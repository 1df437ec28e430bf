"""Running the API: health, readiness, metrics, the OpenAPI document, `serve`, and the
`pgqueue token` and `pgqueue api` commands."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace

import httpx2
import pytest
from alembic import command
from prometheus_client.parser import text_string_to_metric_families

from pgqueue import JobQueueManager
from pgqueue.admin.auth import TOKEN_CACHE_SECONDS
from pgqueue.api import serve
from pgqueue.asgi import create_app
from pgqueue.config import Settings
from pgqueue.db import migrate
from pgqueue.registry import Registry
from tests.api_support import Api, bearer, data_of
from tests.helpers import RunWorker, free_port, pgqueue_process, stat_is, wait_for


async def test_health_and_readiness(api: Api, db_url: str) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "revision": migrate.head_revision()}
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(db_url), "0001")
    behind = await api.client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["status"] == "unavailable"
    assert "schema at revision 0001" in behind.json()["reason"]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_describe_queues_from_the_database(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()
    registry.add("email", "*", lambda job: "sent")
    for _ in range(2):
        await manager.add_job("email", "welcome", {}, remove_on_complete=False)
    async with run_worker(registry, {"email": 1}):
        await wait_for(lambda: stat_is(manager, "email", "completed", 2))
    await manager.add_job("report", "pipeline-report", {})
    data_of(await api.post("/api/v1/jobs/queues/report/pause"))
    response = await api.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    email, report = (("queue", "email"),), (("queue", "report"),)
    assert found[("pgqueue_queue_jobs", (("queue", "email"), ("state", "completed")))] == 2
    assert found[("pgqueue_queue_jobs", (("queue", "report"), ("state", "paused")))] == 1
    assert found[("pgqueue_queue_paused", report)] == 1
    assert found[("pgqueue_queue_paused", email)] == 0
    assert found[("pgqueue_queue_oldest_waiting_seconds", email)] == 0
    finished = ("pgqueue_queue_finished_recently", (("queue", "email"), ("state", "completed")))
    assert found[finished] == 2
    assert found[("pgqueue_queue_retrying_jobs", email)] == 0
    for name in ("pgqueue_job_duration_seconds", "pgqueue_job_wait_seconds"):
        assert found[(f"{name}_gcount", email)] == 2
        everything = found[(f"{name}_bucket", (("le", "+Inf"), ("queue", "email")))]
        assert everything == 2
        within_hour = found[(f"{name}_bucket", (("le", "3600.0"), ("queue", "email")))]
        assert within_hour == 2
    action = (
        "pgqueue_api_admin_actions_total",
        (("action", "pause_queue"), ("outcome", "success")),
    )
    assert found[action] == 1


async def test_oldest_waiting_age_grows(api: Api, manager: JobQueueManager) -> None:
    await manager.add_job("email", "welcome", {})

    async def waited() -> bool:
        found = samples((await api.client.get("/metrics")).text)
        return found[("pgqueue_queue_oldest_waiting_seconds", (("queue", "email"),))] > 0.05

    await wait_for(waited)


async def test_openapi_describes_every_route(api: Api) -> None:
    document = (await api.client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        ("GET", "/api/v1/jobs/queues"),
        ("GET", "/api/v1/jobs/queues/{queue}/stats"),
        ("GET", "/api/v1/jobs/queues/{queue}/failed"),
        ("GET", "/api/v1/jobs/queues/{queue}/jobs"),
        ("POST", "/api/v1/jobs/queues/{queue}/jobs"),
        ("POST", "/api/v1/jobs/queues/{queue}/pause"),
        ("POST", "/api/v1/jobs/queues/{queue}/resume"),
        ("POST", "/api/v1/jobs/queues/{queue}/clean"),
        ("POST", "/api/v1/jobs/queues/{queue}/retry-failed"),
        ("GET", "/api/v1/jobs/queues/{queue}/job/{id}"),
        ("DELETE", "/api/v1/jobs/queues/{queue}/job/{id}"),
        ("POST", "/api/v1/jobs/queues/{queue}/job/{id}/retry"),
        ("POST", "/api/v1/jobs/queues/{queue}/job/{id}/promote"),
        ("POST", "/api/v1/jobs/queues/{queue}/job/{id}/cancel"),
        ("GET", "/api/v1/jobs/queues/{queue}/job/{id}/wait"),
        ("GET", "/api/v1/jobs/queues/{queue}/job/{id}/children"),
        ("GET", "/api/v1/jobs/queues/{queue}/limits"),
        ("GET", "/api/v1/jobs/queues/{queue}/metrics"),
        ("PUT", "/api/v1/jobs/queues/{queue}/rate-limit"),
        ("PUT", "/api/v1/jobs/queues/{queue}/global-concurrency"),
        ("POST", "/api/v1/jobs/flows"),
        ("GET", "/api/v1/jobs/repeatable"),
        ("DELETE", "/api/v1/jobs/repeatable/{key}"),
        ("GET", "/api/v1/jobs/audit"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/openapi.json"),
    }
    public = {
        p for p, item in document["paths"].items() if item.get("get", {}).get("security") == []
    }
    assert public == {"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"}


async def test_serve_runs_until_stopped(db_url: str, settings: Settings) -> None:
    port = free_port()
    stop = asyncio.Event()
    app = create_app(settings=replace(settings, database_url=db_url))
    server = asyncio.create_task(serve(app, "127.0.0.1", port, stop))
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def healthy() -> bool:
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx2.TransportError:
                return False

        await wait_for(healthy)
        assert (await client.get("/readyz")).status_code == 200
    stop.set()
    await asyncio.wait_for(server, 10)


def cli(args: list[str], db_url: str) -> tuple[int, str, str]:
    process = pgqueue_process(args, db_url)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


@pytest.mark.slow
async def test_token_commands_and_the_api_command(db_url: str) -> None:
    code, out, err = cli(
        ["token", "create", "--role", "admin", "--name", "ops", "--ttl", "12h"], db_url
    )
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert token.startswith("pgq_") and token not in err
    code, _, err = cli(["token", "create", "--role", "ADMIN", "--name", "ops"], db_url)
    assert code == 1 and "exists already" in err
    code, _, err = cli(["token", "create", "--role", "ADMIN", "--ttl", "soon"], db_url)
    assert code == 2 and "ttl must be" in err
    code, _, err = cli(["token", "create", "--role", "DEPLOYER"], db_url)
    assert code == 2 and "'DEPLOYER' is not one of" in err
    args = ["token", "create", "--role", "service", "--name", "mailer"]
    code, out, err = cli([*args, "--queue", "email", "--queue", "notification"], db_url)
    assert code == 0 and "queues email, notification" in out, err
    code, out, err = cli(["token", "list"], db_url)
    assert code == 0, err
    listed = {line.split()[0]: line.split()[1:3] for line in out.splitlines()}
    assert listed["mailer"] == ["SERVICE", "email,notification"]
    assert listed["ops"] == ["ADMIN", "*"]

    port = free_port()
    server = pgqueue_process(["api", "--port", str(port)], db_url)
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def answered() -> httpx2.Response | None:
                try:
                    return await client.get("/api/v1/jobs/queues", headers=bearer(token))
                except httpx2.TransportError:
                    assert server.poll() is None, server.communicate()
                    return None

            response = await wait_for(answered, timeout=30)
            assert "email" in data_of(response)
            assert cli(["token", "revoke", "ops"], db_url)[0] == 0

            async def refused() -> bool:
                after = await client.get("/api/v1/jobs/queues", headers=bearer(token))
                return after.status_code == 401

            # A token lookup is cached for at most TOKEN_CACHE_SECONDS (5 s).
            await wait_for(refused, timeout=TOKEN_CACHE_SECONDS + 5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0
    code, _, err = cli(["token", "revoke", "nobody"], db_url)
    assert code == 1 and "no token is named" in err
