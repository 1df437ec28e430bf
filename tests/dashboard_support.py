"""What the dashboard tests share: tokens, the app with its lifespan, signing in over
HTTP and in one headless Chromium for the whole run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import psycopg
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from starlette.applications import Starlette

from pgqueue import JobQueueManager
from pgqueue.admin.tokens import new_token, token_hash
from pgqueue.asgi import create_app
from pgqueue.dashboard import DashboardSettings
from pgqueue.store import auth_ops
from pgqueue.store.aio import execute

HOSTILE = '<img src=x onerror="alert(1)">'


ROLES = {"ops-admin": "ADMIN", "ops-viewer": "VIEWER", "ci": "DEPLOYER", "gone": "ADMIN"}


async def create_tokens(db_url: str) -> dict[str, str]:
    """Real API tokens, stored hashed, by name; "gone" is revoked."""
    made = {name: new_token() for name in ROLES}
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        for name, token in made.items():
            await execute(conn, auth_ops.create_token(name, token_hash(token), ROLES[name], 3600))
        await execute(conn, auth_ops.revoke_token("gone"))
    return made


@pytest.fixture
async def tokens(db_url: str) -> dict[str, str]:
    return await create_tokens(db_url)


@asynccontextmanager
async def dashboard_app(
    manager: JobQueueManager, settings: DashboardSettings | None = None
) -> AsyncIterator[Starlette]:
    """The REST API's app with the dashboard mounted as `create_app` mounts it, here with
    the test's settings, running its lifespan."""
    app = create_app(manager, dashboard=settings or DashboardSettings())
    async with app.router.lifespan_context(app):
        yield app


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: httpx2.AsyncClient, token: str) -> str:
    """Signs in through the form; returns the session's CSRF token."""
    form = await client.get("/admin/login")
    response = await client.post(
        "/admin/login", data={"csrf": csrf_of(form.text), "token": token, "next": ""}
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/admin/")).text)


@asynccontextmanager
async def client_for(
    manager: JobQueueManager, settings: DashboardSettings | None = None
) -> AsyncIterator[httpx2.AsyncClient]:
    async with (
        dashboard_app(manager, settings) as app,
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        yield client


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        message = "no chromium on PATH: apt-get install -y chromium to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One headless Chromium for the whole run; each test connects to it over the DevTools
    protocol and works in a fresh browser context of its own."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            chromium_path(),
            *CHROMIUM_ARGS,
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Chromium writes the port it chose to this file once it listens.
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start (exit code {process.poll()})")
            time.sleep(0.05)
        port = active.read_text().split()[0]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        connected = await playwright.chromium.connect_over_cdp(chromium)
        yield connected
        await connected.close()


async def browser_sign_in(page: Page, base_url: str, token: str) -> None:
    await page.goto(f"{base_url}/admin/")
    await expect(page).to_have_url(f"{base_url}/admin/login?next=%2Fadmin%2F")
    await page.fill("#token", token)
    await page.click("text=Sign in >> nth=-1")
    await expect(page).to_have_url(f"{base_url}/admin/")
