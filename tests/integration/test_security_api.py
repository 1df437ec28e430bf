"""The REST API's security findings, each against the real app and a real database:
least privilege for SERVICE and VIEWER, hardened JWTs, failure limits, cheap
unauthenticated routes, response headers, and input the database cannot store."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

from pgqueue import ConfigurationError, InvalidJobError, JobQueueManager
from pgqueue.admin.tokens import new_token, token_hash
from pgqueue.asgi import create_app
from pgqueue.config import Settings
from pgqueue.manager.admin import AdminService
from tests.api_support import (
    JWT_SECRET,
    ROUTES,
    bearer,
    data_of,
    error_of,
    make_jwt,
    make_token,
    targets,
    writes,
)

Q = "/api/v1/jobs/queues"


@asynccontextmanager
async def client_for(
    manager: JobQueueManager, settings: Settings, **changes: Any
) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(manager, dataclasses.replace(settings, jwt_secret=JWT_SECRET, **changes))
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


async def scoped_token(db_url: str, name: str, queues: list[str] | None) -> dict[str, str]:
    """A SERVICE token as `pgqueue token create --role SERVICE --queue …` makes it."""
    token = new_token()
    async with JobQueueManager(db_url, pool_size=1) as manager:
        await AdminService(manager).create_token(name, token_hash(token), "SERVICE", 3600, queues)
    return bearer(token)


# --- finding 1: a SERVICE token reads nothing back ------------------------------------


async def test_service_adding_an_existing_job_id_learns_nothing_of_that_job(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    secret = await manager.add_job(
        "notification", "reset-alice", {"resetLink": "https://x/secret"}, job_id="reset-alice"
    )
    service = bearer(await make_token(db_url, "SERVICE", "billing"))
    body = {"name": "probe", "data": {}, "opts": {"jobId": "reset-alice"}}
    async with client_for(manager, settings) as client:
        answer = await client.post(f"{Q}/notification/jobs", json=body, headers=service)
        fresh = await client.post(
            f"{Q}/notification/jobs", json={"name": "new", "data": {"n": 1}}, headers=service
        )
    assert data_of(answer, 201) == {"id": secret.id, "state": "waiting", "inserted": False}
    assert "secret" not in answer.text
    made = data_of(fresh, 201)
    assert set(made) == {"id", "state", "inserted"} and made["inserted"] is True


# --- finding 2: scopes, cleanup, raw email ----------------------------------------------


async def test_a_scoped_service_token_adds_only_to_its_queues_and_never_to_cleanup(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    scoped = await scoped_token(db_url, "mailer", ["email", "notification"])
    unscoped = bearer(await make_token(db_url, "SERVICE", "anything"))
    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    wipe = {"name": "old-artifacts", "data": {"olderThanSeconds": 0}}
    async with client_for(manager, settings) as client:
        ok = await client.post(f"{Q}/notification/jobs", json={"name": "push"}, headers=scoped)
        other = await client.post(f"{Q}/report/jobs", json={"name": "r"}, headers=scoped)
        cleanup = await client.post(f"{Q}/cleanup/jobs", json=wipe, headers=unscoped)
        admin_cleanup = await client.post(f"{Q}/cleanup/jobs", json=wipe, headers=admin)
        audit = data_of(await client.get("/api/v1/jobs/audit", headers=admin))
    data_of(ok, 201)
    assert "only to: email,notification" in error_of(other, 403)["message"]
    assert "only ADMIN" in error_of(cleanup, 403)["message"]
    data_of(admin_cleanup, 201)
    stats = await manager.get_all_queue_stats()
    assert stats["report"]["waiting"] == 0 and stats["cleanup"]["waiting"] == 1
    scopes = {(e["actor"], e["outcome"]): e["detail"].get("scope") for e in audit}
    assert scopes[("mailer", "success")] == ["email", "notification"]
    assert scopes[("mailer", "FORBIDDEN")] == ["email", "notification"]


async def test_raw_email_bodies_are_refused_over_http_unless_allowed(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    raw = {"to": "anyone@example.com", "subject": "Hi", "body": "x", "html": "<a href=x>x</a>"}
    templated = {"to": "a@example.com", "context": {"name": "A"}}
    async with client_for(manager, settings) as client:
        refused = await client.post(
            f"{Q}/email/jobs", json={"name": "custom-email", "data": raw}, headers=admin
        )
        normal = await client.post(
            f"{Q}/email/jobs", json={"name": "welcome", "data": templated}, headers=admin
        )
    assert "PGQUEUE_EMAIL_ALLOW_RAW" in error_of(refused, 403)["message"]
    data_of(normal, 201)
    async with client_for(manager, settings, allow_raw_email=True) as client:
        allowed = await client.post(
            f"{Q}/email/jobs", json={"name": "custom-email", "data": raw}, headers=admin
        )
    data_of(allowed, 201)
    assert (await manager.get_queue_stats("email"))["waiting"] == 2


# --- finding 3: JWTs ---------------------------------------------------------------------


def test_a_short_jwt_secret_refuses_to_start(manager: JobQueueManager) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        create_app(manager, Settings(jwt_secret="x"))
    create_app(manager, Settings(jwt_secret="y" * 32))


def _jwt(**claims: Any) -> dict[str, str]:
    now = int(time.time())
    return bearer(
        make_jwt({"sub": "alice", "role": "ADMIN", "iat": now, "exp": now + 300, **claims})
    )


async def test_jwt_audience_issuer_lifetime_and_clock_skew(
    manager: JobQueueManager, settings: Settings
) -> None:
    now = int(time.time())
    checks = {
        "right": (_jwt(aud="pgqueue", iss="platform"), 200),
        "no-audience": (_jwt(iss="platform"), 401),
        "wrong-audience": (_jwt(aud="billing", iss="platform"), 401),
        "wrong-issuer": (_jwt(aud="pgqueue", iss="evil"), 401),
        "too-long": (_jwt(aud="pgqueue", iss="platform", exp=now + 2 * 86_400), 401),
        "too-long-no-iat": (
            bearer(
                make_jwt(
                    {"role": "ADMIN", "aud": "pgqueue", "iss": "platform", "exp": now + 90_000}
                )
            ),
            401,
        ),
        "skewed": (_jwt(aud="pgqueue", iss="platform", iat=now + 10, exp=now - 10), 200),
        "expired": (_jwt(aud="pgqueue", iss="platform", iat=now - 600, exp=now - 120), 401),
    }
    async with client_for(
        manager, settings, jwt_audience="pgqueue", jwt_issuer="platform"
    ) as client:
        for name, (headers, status) in checks.items():
            response = await client.get(f"{Q}", headers=headers)
            assert response.status_code == status, (name, response.text)


async def test_a_jwt_queues_claim_scopes_it_like_a_token(
    manager: JobQueueManager, settings: Settings
) -> None:
    service = _jwt(role="SERVICE", queues=["email"])
    async with client_for(manager, settings) as client:
        data_of(
            await client.post(f"{Q}/email/jobs", json={"name": "welcome"}, headers=service), 201
        )
        error_of(await client.post(f"{Q}/report/jobs", json={"name": "r"}, headers=service), 403)


# --- finding 6: failed authentication is limited ---------------------------------------


async def test_failures_past_the_limit_are_429_and_a_valid_token_still_works(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    async with client_for(manager, settings, auth_failures_per_minute=3) as client:
        statuses = [
            (await client.get(Q, headers=bearer("pgq_wrong"))).status_code for _ in range(5)
        ]
        limited = await client.get(Q, headers=bearer("pgq_wrong"))
        good = await client.get(Q, headers=admin)
    assert statuses == [401, 401, 401, 429, 429]
    assert error_of(limited, 429)["code"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    data_of(good)


# --- finding 7: unauthenticated routes cost nothing that grows -----------------------


async def test_readiness_answers_from_the_pool_without_a_new_connection(
    manager: JobQueueManager, settings: Settings
) -> None:
    async with client_for(manager, settings) as client:
        await manager.get_all_queue_stats()  # the pool is open
        # Any new connection would now fail: readiness must use the pool it has.
        manager._database_url = "postgresql://nobody@127.0.0.1:1/nothing"
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"


async def test_metrics_are_cached_and_can_need_a_token(
    manager: JobQueueManager, settings: Settings
) -> None:
    async with client_for(manager, settings) as client:
        first = await client.get("/metrics")
        await manager.add_job("email", "welcome", {})
        second = await client.get("/metrics")
    assert first.status_code == 200 and first.text == second.text
    async with client_for(manager, settings, metrics_token="m" * 40) as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=bearer("nope"))).status_code == 401
        scraped = await client.get("/metrics", headers=bearer("m" * 40))
    assert scraped.status_code == 200 and 'state="waiting"} 1.0' in scraped.text


# --- finding 8: headers ---------------------------------------------------------------


async def test_every_api_answer_with_job_data_is_nosniff_and_no_store(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    ids = await targets(manager)
    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    async with client_for(manager, settings) as client:
        for route in [*ROUTES, ("GET", "/api/v1/jobs/queues/email/job/999999", None)]:
            response = await client.request(
                route[0], route[1].format(**ids), headers=admin, json=route[2]
            )
            assert response.headers["x-content-type-options"] == "nosniff", route
            assert response.headers["cache-control"] == "no-store", route


# --- finding 9: lists and NUL characters -------------------------------------------------


async def test_pages_hold_at_most_a_thousand_jobs(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    """A longer range, `end=-1` included, is cut to its first thousand jobs."""
    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    await manager.add_bulk("email", [{"name": "n"}] * 1003)
    async with client_for(manager, settings) as client:
        for query, expected in (
            ("start=0&end=999", 1000),
            ("start=0&end=1000", 1000),
            ("start=0&end=-1", 1000),
            ("start=5&end=5000", 998),
            ("start=1000&end=-1", 3),
        ):
            jobs = data_of(await client.get(f"{Q}/email/jobs?{query}", headers=admin))
            assert len(jobs) == expected, query


@pytest.mark.parametrize(
    "body",
    [
        {"name": "wel\u0000come"},
        {"name": "welcome", "data": {"to": "a\u0000b"}},
        {"name": "welcome", "data": {"k\u0000": 1}},
        {"name": "welcome", "data": [["deep", {"x": "\u0000"}]]},
        {"name": "welcome", "opts": {"jobId": "key\u0000"}},
    ],
    ids=["name", "value", "key", "nested", "job-id"],
)
async def test_nul_characters_are_422_and_nothing_is_written(
    manager: JobQueueManager, settings: Settings, db_url: str, body: dict[str, Any]
) -> None:
    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    before = await writes(db_url)
    async with client_for(manager, settings) as client:
        response = await client.post(f"{Q}/email/jobs", json=body, headers=admin)
    assert "NUL" in error_of(response, 422)["message"]
    jobs, audited, _ = await writes(db_url)
    assert jobs == before[0] and audited == before[1] + 1
    opts = body.get("opts", {})
    options = {"job_id": opts["jobId"]} if "jobId" in opts else {}
    with pytest.raises(InvalidJobError, match="NUL"):
        await manager.add_job("email", body["name"], body.get("data"), **options)
    assert (await writes(db_url))[0] == before[0]


async def test_a_backslash_u0000_in_text_is_not_a_nul(manager: JobQueueManager) -> None:
    job = await manager.add_job("email", "welcome", {"note": "\\u0000 is how JSON writes NUL"})
    found = await manager.get_job("email", job.id)
    assert found is not None and found.data == {"note": "\\u0000 is how JSON writes NUL"}


# --- finding 10: VIEWER reads everything and changes nothing -------------------------------


LIMIT_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/jobs/queues/email/limits", None),
    ("POST", "/api/v1/jobs/queues/email/job/{other}/cancel", None),
    ("PUT", "/api/v1/jobs/queues/email/rate-limit", {"max": 5, "duration": 1000}),
    ("PUT", "/api/v1/jobs/queues/email/global-concurrency", {"concurrency": 2}),
]


@pytest.mark.parametrize("role", ["VIEWER", "SERVICE"])
async def test_a_viewer_reads_every_route_and_changes_nothing(
    manager: JobQueueManager, settings: Settings, db_url: str, role: str
) -> None:
    """VIEWER reads every route; SERVICE reads none; neither changes anything."""
    ids = await targets(manager)
    headers = bearer(await make_token(db_url, role, "someone"))
    before = await writes(db_url)
    routes = [r for r in [*ROUTES, *LIMIT_ROUTES] if r[1] != "/api/v1/jobs/queues/email/jobs"]
    async with client_for(manager, settings) as client:
        for method, path, body in routes:
            response = await client.request(method, path.format(**ids), headers=headers, json=body)
            if method == "GET" and role == "VIEWER":
                data_of(response)
            else:
                assert error_of(response, 403)["code"] == "FORBIDDEN", path
        viewer_adds = await client.post(f"{Q}/email/jobs", json={"name": "x"}, headers=headers)
    if role == "VIEWER":
        error_of(viewer_adds, 403)
    jobs, audited, paused = await writes(db_url)
    assert (jobs, paused) == (before[0] + (role == "SERVICE"), before[2])
    assert audited == before[1] + len([r for r in routes if r[0] != "GET"]) + 1
    other = await manager.get_job("email", ids["other"])
    assert other is not None and other.state.value == "waiting"
    assert await manager.get_queue_limits("email") == {}


async def test_nul_characters_anywhere_in_a_request_are_never_a_server_error(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    from tests.dashboard_support import create_tokens, csrf_of

    admin = bearer(await make_token(db_url, "ADMIN", "ops"))
    async with client_for(manager, settings) as client:
        for method, path in [
            ("DELETE", "/api/v1/jobs/repeatable/a%00b"),
            ("GET", f"{Q}/em%00ail/stats"),
            ("GET", f"{Q}/email/jobs?state=wait%00ing"),
        ]:
            response = await client.request(method, path, headers=admin)
            assert 400 <= response.status_code < 500, (path, response.text)
        tokens = await create_tokens(db_url)
        form = await client.get("/admin/login")
        await client.post(
            "/admin/login", data={"csrf": csrf_of(form.text), "token": tokens["ops-admin"]}
        )
        page = await client.get("/admin/queues/email?q=a%00b")
        assert page.status_code < 500, page.text
        removed = await client.post(
            "/admin/schedules/remove",
            data={"csrf": csrf_of((await client.get("/admin/")).text), "key": "a\x00b"},
        )
        assert removed.status_code < 500, removed.text
    entries = await AdminService(manager).read_audit(0, 10)
    refused = [
        e for e in entries if e["action"] == "remove_repeatable" and "via" not in e["detail"]
    ]
    assert [e["outcome"] for e in refused] == ["INVALID_INPUT"]
