"""Who may call what: every admin route against every kind of credential."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pgqueue import JobQueueManager
from pgqueue.admin.auth import GENERIC_401
from tests.api_support import (
    ROUTES,
    Api,
    bearer,
    data_of,
    error_of,
    jwt_for,
    make_jwt,
    targets,
    writes,
)
from tests.helpers import RunWorker, fail_one

ADD_JOB = ("POST", "/api/v1/jobs/queues/email/jobs")


async def call(
    api: Api, route: tuple[str, str, Any], headers: dict[str, str], ids: dict[str, str]
) -> Any:
    method, path, body = route
    return await api.client.request(
        method, path.format(**ids), headers=headers, json=body if body is not None else None
    )


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ("missing", "no Authorization header"),
        ("garbage", "invalid JWT"),
        ("unknown", "unknown token"),
        ("wrong_scheme", "not 'Bearer <token>'"),
        ("expired", "token 'old-admin' has expired"),
        ("revoked", "token 'gone-admin' is revoked"),
    ],
)
async def test_no_valid_credential_is_401_on_every_route(
    api: Api,
    manager: JobQueueManager,
    db_url: str,
    credential: str,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The client learns only that it failed; the reason goes to the server log, with
    the client's address and never the credential."""
    ids = await targets(manager)
    headers = {
        "missing": {},
        "garbage": bearer("not-a-token-at-all"),
        "unknown": bearer("pgq_" + "x" * 43),
        "wrong_scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "expired": api.expired,
        "revoked": api.revoked,
    }[credential]
    before = await writes(db_url)
    for route in ROUTES:
        response = await call(api, route, headers, ids)
        error = error_of(response, 401)
        assert error["code"] == "UNAUTHORIZED"
        assert error["message"] == GENERIC_401, (route, error)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await writes(db_url) == before
    reasons = [r.__dict__.get("reason", "") for r in caplog.records if r.name == "pgqueue.auth"]
    assert len(reasons) == len(ROUTES)
    assert all(message in reason for reason in reasons), reasons
    sent = headers.get("Authorization", "").partition(" ")[2]
    assert all(sent not in r.getMessage() + str(r.__dict__) for r in caplog.records if sent)


@pytest.mark.parametrize("credential", ["user", "service"])
async def test_other_roles_are_403_except_service_adding_a_job(
    api: Api, manager: JobQueueManager, db_url: str, credential: str
) -> None:
    ids = await targets(manager)
    headers = api.user if credential == "user" else api.service
    jobs_before = (await writes(db_url))[0]
    for route in ROUTES:
        response = await call(api, route, headers, ids)
        if credential == "service" and route[:2] == ADD_JOB:
            assert set(data_of(response, 201)) == {"id", "state", "inserted"}
            continue
        error = error_of(response, 403)
        assert error["code"] == "FORBIDDEN"
        assert "may not" in error["message"]
    jobs_after, audited, paused = await writes(db_url)
    assert jobs_after == jobs_before + (1 if credential == "service" else 0)
    assert paused == 0
    # Refused mutating calls are audited with who tried and the code they got.
    entries = data_of(await api.get("/api/v1/jobs/audit?start=0&end=999"))
    assert {e["outcome"] for e in entries if e["actor"] != "billing-service"} <= {"FORBIDDEN"}
    assert audited == len([r for r in ROUTES if r[0] != "GET"])


async def test_admin_token_may_call_every_route(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    ids = await targets(manager, failed=await fail_one(manager, run_worker))
    statuses = {}
    for route in ROUTES:
        response = await call(api, route, api.admin, ids)
        statuses[route[:2]] = response.status_code
        assert response.json()["success"] is True, (route, response.text)
    assert statuses.pop(ADD_JOB) == 201
    assert set(statuses.values()) == {200}


async def test_jwt_with_admin_role_is_accepted_and_audited_by_subject(api: Api) -> None:
    data_of(await api.get("/api/v1/jobs/queues", headers=jwt_for("ADMIN", sub="alice")))
    data_of(
        await api.post("/api/v1/jobs/queues/email/pause", headers=jwt_for("admin", sub="alice"))
    )
    data_of(
        await api.post(
            "/api/v1/jobs/queues/email/jobs",
            headers=jwt_for("SERVICE", sub="billing"),
            json={"name": "welcome"},
        ),
        201,
    )
    error_of(await api.get("/api/v1/jobs/queues", headers=jwt_for("SERVICE")), 403)
    error_of(await api.get("/api/v1/jobs/queues", headers=jwt_for("USER")), 401)
    entries = data_of(await api.get("/api/v1/jobs/audit"))
    assert [(e["actor"], e["role"], e["action"]) for e in entries] == [
        ("billing", "SERVICE", "add_job"),
        ("alice", "ADMIN", "pause_queue"),
    ]


def _unsigned(claims: dict[str, Any]) -> str:
    import base64
    import json

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            make_jwt({"sub": "a", "role": "ADMIN", "exp": int(time.time()) - 60}), id="expired"
        ),
        pytest.param(_unsigned({"sub": "a", "role": "ADMIN", "exp": 4102444800}), id="alg-none"),
        pytest.param(
            make_jwt({"sub": "a", "role": "ADMIN", "exp": 4102444800}, algorithm="HS512"),
            id="hs512",
        ),
        pytest.param(
            make_jwt({"sub": "a", "role": "ADMIN", "exp": 4102444800}, secret="x" * 64),
            id="wrong-secret",
        ),
        pytest.param(make_jwt({"sub": "a", "role": "ADMIN"}), id="no-exp"),
        pytest.param(make_jwt({"sub": "a", "exp": 4102444800}), id="no-role"),
        pytest.param(make_jwt({"sub": "a", "role": ["ADMIN"], "exp": 4102444800}), id="role-list"),
        pytest.param("a.b.c", id="malformed"),
    ],
)
async def test_bad_jwts_are_401(api: Api, token: str) -> None:
    error = error_of(await api.get("/api/v1/jobs/queues", headers=bearer(token)), 401)
    assert error["code"] == "UNAUTHORIZED"


async def test_jwts_are_refused_when_no_secret_is_configured(
    manager: JobQueueManager, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx2

    from pgqueue.asgi import create_app
    from pgqueue.config import Settings

    app = create_app(manager, Settings())
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        response = await client.get("/api/v1/jobs/queues", headers=jwt_for("ADMIN"))
    assert error_of(response, 401)["message"] == GENERIC_401
    assert any(
        "PGQUEUE_JWT_SECRET is not set" in r.__dict__.get("reason", "") for r in caplog.records
    )


async def test_health_readiness_metrics_and_openapi_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"):
        assert (await api.client.get(path)).status_code == 200, path
