"""Dashboard sessions end: at sign-out, at the revocation of the token that opened them,
and after the idle timeout — for every copy of the cookie. Sign-in, sign-out and failed
sign-in are audited and failures are limited. Over HTTP, and in headless Chromium."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2
import psycopg
import uvicorn
from playwright.async_api import Browser, expect

from pgqueue import JobQueueManager
from pgqueue.config import Settings
from pgqueue.dashboard import DashboardSettings
from pgqueue.manager.admin import AdminService
from tests.dashboard_support import browser_sign_in, client_for, csrf_of, sign_in
from tests.helpers import wait_for


async def audit_actions(manager: JobQueueManager) -> list[tuple[str, str, str]]:
    rows = await AdminService(manager).read_audit(0, 100)
    return [(r["actor"], r["action"], r["outcome"]) for r in reversed(rows)]


async def test_a_copied_cookie_is_worthless_after_sign_out(
    manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    async with client_for(manager) as client:
        await sign_in(client, tokens["ops-admin"])
        copied = dict(client.cookies.items())
        page = await client.get("/admin/")
        await client.post("/admin/logout", data={"csrf": csrf_of(page.text)})
        client.cookies.clear()
        for name, value in copied.items():
            client.cookies.set(name, value, path="/admin")
        replayed = await client.get("/admin/queues/email")
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/admin/login")
    assert await audit_actions(manager) == [
        ("ops-admin", "sign_in", "success"),
        ("ops-admin", "sign_out", "success"),
    ]


async def test_revoking_the_token_ends_its_sessions_on_the_next_request(
    manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    async with client_for(manager) as client:
        await sign_in(client, tokens["ops-admin"])
        assert (await client.get("/admin/")).status_code == 200
        assert await AdminService(manager).revoke_token("ops-admin")
        assert (await client.get("/admin/")).status_code == 303


async def test_an_idle_session_ends(
    manager: JobQueueManager, tokens: dict[str, str], db_url: str
) -> None:
    async with client_for(manager, DashboardSettings(idle_seconds=600)) as client:
        await sign_in(client, tokens["ops-viewer"])
        assert (await client.get("/admin/")).status_code == 200
        # Ten minutes of nobody using it, without waiting ten minutes.
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            await conn.execute(
                "UPDATE pgqueue_dashboard_sessions SET last_seen_at = now() - interval '601 s'"
            )
        assert (await client.get("/admin/")).status_code == 303
        await sign_in(client, tokens["ops-viewer"])
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            await conn.execute(
                "UPDATE pgqueue_dashboard_sessions SET last_seen_at = now() - interval '590 s'"
                " WHERE ended_at IS NULL"
            )
        assert (await client.get("/admin/")).status_code == 200  # still within the timeout


async def test_failed_sign_ins_are_audited_and_limited(
    manager: JobQueueManager, tokens: dict[str, str], settings: Settings
) -> None:
    from dataclasses import replace

    from pgqueue.asgi import create_app

    app = create_app(
        manager, replace(settings, auth_failures_per_minute=2), dashboard=DashboardSettings()
    )
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        csrf = csrf_of((await client.get("/admin/login")).text)
        statuses = []
        for _ in range(4):
            answer = await client.post("/admin/login", data={"csrf": csrf, "token": "pgq_guess"})
            statuses.append(answer.status_code)
        assert answer.headers["retry-after"].isdigit()
        assert "Too many failed sign-ins" in answer.text
        assert "pgq_guess" not in answer.text
        await sign_in(client, tokens["ops-admin"])  # a valid token is never limited
    assert statuses == [401, 401, 429, 429]
    actions = await audit_actions(manager)
    # Failures are audited while under the limit; past it only the server log grows.
    assert actions == [
        ("anonymous", "sign_in_failed", "UNAUTHORIZED"),
        ("anonymous", "sign_in_failed", "UNAUTHORIZED"),
        ("ops-admin", "sign_in", "success"),
    ]


async def test_the_tokens_page_shows_roles_and_scopes_never_a_token(
    manager: JobQueueManager, tokens: dict[str, str], db_url: str
) -> None:
    from pgqueue.admin.tokens import new_token, token_hash

    secret = new_token()
    await AdminService(manager).create_token(
        "mailer", token_hash(secret), "SERVICE", 3600, ["email", "notification"]
    )
    async with client_for(manager) as client:
        await sign_in(client, tokens["ops-viewer"])
        page = (await client.get("/admin/tokens")).text
    row = page[page.index('data-token="mailer"') :].split("</tr>")[0]
    assert "SERVICE" in row and "email, notification" in row and "active" in row
    gone = page[page.index('data-token="gone"') :].split("</tr>")[0]
    assert "revoked" in gone
    assert secret not in page and token_hash(secret) not in page
    assert not any(t in page for t in tokens.values())


async def test_a_session_opened_with_a_jwt_ends_when_the_jwt_does(
    manager: JobQueueManager, settings: Settings, db_url: str
) -> None:
    from dataclasses import replace

    from pgqueue.asgi import create_app
    from tests.api_support import JWT_SECRET, make_jwt

    now = int(time.time())
    token = make_jwt({"sub": "alice", "role": "ADMIN", "iat": now, "exp": now + 120})
    app = create_app(
        manager, replace(settings, jwt_secret=JWT_SECRET), dashboard=DashboardSettings()
    )
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        await sign_in(client, token)
        assert (await client.get("/admin/")).status_code == 200
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        cur = await conn.execute(
            "SELECT extract(epoch FROM expires_at) FROM pgqueue_dashboard_sessions"
        )
        [(expires,)] = await cur.fetchall()
    assert now + 100 <= float(expires) <= now + 125


async def test_cookie_secure_always_marks_the_cookie_secure_over_plain_http(
    manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    async with client_for(manager, DashboardSettings(cookie_secure="always")) as client:
        form = await client.get("/admin/login")
        assert "Secure" in form.headers["set-cookie"]
    async with client_for(manager) as client:
        form = await client.get("/admin/login")
        assert "Secure" not in form.headers["set-cookie"]


@asynccontextmanager
async def served(manager: JobQueueManager) -> AsyncIterator[str]:
    from pgqueue.asgi import create_app

    app = create_app(manager, dashboard=DashboardSettings())
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await wait_for(lambda: server.started or task.done())
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task


async def test_in_a_browser_a_stolen_cookie_dies_with_the_sign_out(
    browser: Browser, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    async with served(manager) as base_url:
        mine = await browser.new_context()
        theirs = await browser.new_context()
        try:
            page = await mine.new_page()
            await browser_sign_in(page, base_url, tokens["ops-admin"])
            await theirs.add_cookies(await mine.cookies())  # type: ignore[arg-type]
            stolen = await theirs.new_page()
            await stolen.goto(f"{base_url}/admin/queues/email")
            await expect(stolen.locator("h1")).to_contain_text("email")
            await page.click("text=Sign out")
            await expect(page).to_have_url(f"{base_url}/admin/login")
            await stolen.goto(f"{base_url}/admin/queues/email")
            await expect(stolen).to_have_url(
                f"{base_url}/admin/login?next=%2Fadmin%2Fqueues%2Femail"
            )
        finally:
            await mine.close()
            await theirs.close()


async def test_in_a_browser_a_viewer_sees_every_page_and_no_action(
    browser: Browser, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    failed = await manager.add_job("email", "welcome", {})
    delayed = await manager.add_delayed_job("email", "later", {}, 3_600_000)
    await manager.add_repeating_job("email", "digest", {}, "0 9 * * *")
    async with served(manager) as base_url:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await browser_sign_in(page, base_url, tokens["ops-viewer"])
            for path in [
                "/admin/",
                "/admin/queues/email",
                f"/admin/queues/email/jobs/{failed.id}",
                f"/admin/queues/email/jobs/{delayed.id}",
                "/admin/schedules",
                "/admin/workers",
                "/admin/tokens",
                "/admin/audit",
            ]:
                response = await page.goto(f"{base_url}{path}")
                assert response is not None and response.status == 200, path
                # The only form that posts is signing out.
                actions = await page.locator("form[method=post]").evaluate_all(
                    "forms => forms.map(f => f.getAttribute('action'))"
                )
                assert actions == ["/admin/logout"], (path, actions)
        finally:
            await context.close()
