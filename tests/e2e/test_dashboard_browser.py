"""The dashboard end to end in headless Chromium: sign in, the eight queues, a failed job
retried until a real worker completes it, pause and resume, refresh in place, sign out.

Needs Debian's `chromium` (Playwright drives it; it never downloads a browser). Without
one a developer's run skips these tests; CI (`CI` set) fails instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
import uvicorn
from playwright.async_api import Browser, Page, expect

from pgqueue import JobQueueManager
from pgqueue.dashboard import DashboardSettings
from pgqueue.registry import Registry
from tests.dashboard_support import HOSTILE, browser_sign_in, dashboard_app
from tests.helpers import ROOT, RunWorker, stat_is, wait_for

# The README's screenshot. Refreshed only when asked, so a test run leaves the tree clean:
# PGQUEUE_UPDATE_SCREENSHOTS=1 make test
README_SCREENSHOT = ROOT / "docs" / "dashboard-overview.png"


@pytest.fixture
async def base_url(manager: JobQueueManager) -> AsyncIterator[str]:
    """The dashboard served over real HTTP, in this test's event loop."""
    settings = DashboardSettings(refresh_seconds=1, max_waiting=20)
    async with dashboard_app(manager, settings) as app:
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            task = asyncio.create_task(server.serve(sockets=[sock]))
            await wait_for(lambda: server.started or task.done())
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
            server.should_exit = True
            await task


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    tab = await context.new_page()
    dialogs: list[str] = []
    tab.on("dialog", lambda dialog: dialogs.append(dialog.message))
    yield tab
    await context.close()
    assert dialogs == [], "a script ran from job data"


async def seed(manager: JobQueueManager) -> None:
    """Something in most queues, so the overview looks like a working system."""
    await manager.add_bulk("notification", [{"name": "push", "data": {}}] * 24)
    await manager.add_bulk("analytics", [{"name": "track-event", "data": {}}] * 3)
    await manager.add_delayed_job("report", "pipeline-report", {}, 3_600_000)
    await manager.add_job("pipeline", HOSTILE, {"note": HOSTILE})
    await manager.pause_queue("cleanup")
    await manager.add_job("cleanup", "temp-files", {})


async def test_sign_in_retry_a_failed_job_and_pause_a_queue(
    page: Page,
    base_url: str,
    manager: JobQueueManager,
    run_worker: RunWorker,
    tokens: dict[str, str],
) -> None:
    healthy = asyncio.Event()

    async def send(job: Any) -> dict[str, str]:
        await job.update_progress(50)
        await job.log(f"sending to {job.data['to']}")
        if not healthy.is_set():
            raise ConnectionError("SMTP connection timeout")
        return {"messageId": "m-1"}

    registry = Registry()
    registry.add("email", "*", send)
    registry.add("test", "*", lambda job: "ok")
    await seed(manager)
    await manager.add_bulk("test", [{"name": "unit", "data": {}}] * 5)
    failed = await manager.add_job("email", "welcome", {"to": "ada@example.com"}, attempts=1)

    async with run_worker(registry, {"email": 1, "test": 1}):
        await wait_for(lambda: _state(manager, "email", failed.id, "failed"))
        await wait_for(lambda: stat_is(manager, "test", "completed", 5))
        await browser_sign_in(page, base_url, tokens["ops-admin"])

        rows = page.locator("table.queues tbody tr")
        await expect(rows).to_have_count(8)
        names = [name.strip() for name in await rows.locator("th a").all_inner_texts()]
        assert names == [
            "email", "report", "pipeline", "test", "deployment", "notification", "cleanup",
            "analytics",
        ]  # fmt: skip
        await expect(page.locator(".warnings")).to_contain_text(
            "Queue backing up: 24 waiting (over 20)"
        )
        shot = await page.screenshot(full_page=True)
        assert shot.startswith(b"\x89PNG")
        if os.environ.get("PGQUEUE_UPDATE_SCREENSHOTS"):
            README_SCREENSHOT.write_bytes(shot)

        email = page.locator('tr[data-queue="email"]')
        await email.locator('td[data-state="failed"] a').click()
        await expect(page).to_have_url(f"{base_url}/admin/queues/email?state=failed")
        await page.click(f'tr[data-job="{failed.id}"] a')
        await expect(page.locator("h1")).to_contain_text("failed")
        await expect(page.locator(".failure")).to_contain_text("SMTP connection timeout")
        await expect(page.locator("pre.stack")).to_contain_text("ConnectionError")
        await expect(page.locator("table.logs")).to_contain_text("sending to ada@example.com")

        healthy.set()
        await page.click("button:text('Retry')")
        await expect(page.locator(".flash-ok")).to_contain_text("is waiting to run again")
        await expect(page.locator("h1 .state")).to_have_text("completed", timeout=15_000)
        await expect(page.locator("progress")).to_have_attribute("value", "50.0")
        await expect(page.locator("pre.json").first).to_contain_text('"messageId": "m-1"')

        await page.goto(f"{base_url}/admin/")
        await email.locator("button:text('Pause')").click()
        await expect(page.locator(".flash-ok")).to_contain_text("Paused email")
        await expect(email.locator(".badge.paused")).to_be_visible()
        assert await manager.get_paused_queues() == {"email", "cleanup"}
        await email.locator("button:text('Resume')").click()
        await expect(page.locator(".flash-ok")).to_contain_text("Resumed email")
        await expect(email.locator(".badge.paused")).to_have_count(0)
        assert await manager.get_paused_queues() == {"cleanup"}

    await page.goto(f"{base_url}/admin/queues/pipeline?state=waiting")
    await expect(page.locator("table.jobs")).to_contain_text(HOSTILE)
    assert await page.locator("table.jobs img").count() == 0


async def test_pages_refresh_in_place_and_signing_out_ends_the_session(
    page: Page, base_url: str, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    await manager.add_job("email", "welcome", {})
    await browser_sign_in(page, base_url, tokens["ops-admin"])
    address = f"{base_url}/admin/queues/email?state=waiting&page=1"
    await page.goto(address)
    await page.fill("#q", "half-typed")
    rows = page.locator("table.jobs tbody tr[data-job]")
    await expect(rows).to_have_count(1)
    await manager.add_job("email", "password-reset", {})
    await expect(rows).to_have_count(2)
    assert page.url == address
    assert await page.input_value("#q") == "half-typed"

    await page.click("button:text('Sign out')")
    await expect(page).to_have_url(f"{base_url}/admin/login")
    await expect(page.locator(".flash-ok")).to_have_text("Signed out.")
    await page.goto(address)
    await expect(page).to_have_url(
        f"{base_url}/admin/login?next=%2Fadmin%2Fqueues%2Femail%3Fstate%3Dwaiting%26page%3D1"
    )


async def test_a_viewer_has_no_buttons_to_press(
    page: Page, base_url: str, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    await manager.add_delayed_job("email", "later", {}, 60_000)
    await browser_sign_in(page, base_url, tokens["ops-viewer"])
    await expect(page.locator("table.queues tbody tr")).to_have_count(8)
    await expect(page.locator("main button")).to_have_count(0)
    await page.goto(f"{base_url}/admin/queues/email?state=delayed")
    await expect(page.locator("table.jobs tbody tr[data-job]")).to_have_count(1)
    await expect(page.locator("main button")).to_have_text(["Search"])


async def _state(manager: JobQueueManager, queue: str, job_id: str, state: str) -> bool:
    job = await manager.get_job(queue, job_id)
    return job is not None and job.state.value == state


async def test_limits_show_what_they_hold_back_and_a_job_can_be_cancelled(
    page: Page,
    base_url: str,
    manager: JobQueueManager,
    run_worker: RunWorker,
    tokens: dict[str, str],
) -> None:
    registry = Registry()

    async def report(job: Any) -> str:
        return "done"

    registry.add("report", "*", report)
    await browser_sign_in(page, base_url, tokens["ops-admin"])
    await page.goto(f"{base_url}/admin/queues/report")
    await expect(page.locator("p.limits")).to_contain_text("Rate limit: none")
    await page.fill("#rate-max", "2")
    await page.fill("#rate-duration", "60000")
    await page.click("button:text('Set rate limit')")
    await expect(page.locator(".flash-ok")).to_contain_text("at most 2 jobs per 60000 ms")
    await page.fill("#global-concurrency", "4")
    await page.click("button:text('Set global concurrency')")
    await expect(page.locator(".flash-ok")).to_contain_text("At most 4 jobs of report")
    await expect(page.locator("p.limits")).to_contain_text("2 jobs per 60000 ms")
    await expect(page.locator("p.limits")).to_contain_text("Global concurrency: 4")

    await manager.add_bulk("report", [{"name": "audit-log", "data": {}}] * 5)
    async with run_worker(registry, {"report": 2}):
        await wait_for(lambda: stat_is(manager, "report", "completed", 2))
        await expect(page.locator(".held-back")).to_have_text("3", timeout=15_000)
        assert (await manager.get_queue_stats("report"))["waiting"] == 3

    waiting = (await manager.get_jobs("report", "waiting"))[0]
    await page.goto(f"{base_url}/admin/queues/report/jobs/{waiting.id}")
    await page.click("button:text('Cancel')")
    await expect(page.locator(".flash-ok")).to_contain_text(f"Cancelled job {waiting.id}")
    await expect(page.locator("h1 .state")).to_have_text("cancelled")
    await expect(page.locator("dd.cancelled-by")).to_have_text("ops-admin")
    await expect(page.locator("button:text('Retry')")).to_be_visible()

    await page.goto(f"{base_url}/admin/queues/report")
    await page.fill("#rate-max", "")
    await page.click("button:text('Set rate limit')")
    await expect(page.locator(".flash-ok")).to_contain_text("Removed the rate limit of report")
    await page.fill("#global-concurrency", "")
    await page.click("button:text('Set global concurrency')")
    await expect(page.locator("p.limits")).to_contain_text("Rate limit: none")
    assert await manager.get_queue_limits() == {}
    await page.goto(f"{base_url}/admin/queues/report?state=cancelled")
    await expect(page.locator("table.jobs tbody tr[data-job]")).to_have_count(1)


async def test_a_flow_shows_its_parent_and_children_as_links(
    page: Page, base_url: str, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "weekly-summary",
            "children": [
                {"queue": "analytics", "name": "track-event", "data": {}},
                {"queue": "email", "name": "welcome", "data": {}},
            ],
        }
    )
    parent = tree["job"]
    first, second = (node["job"] for node in tree["children"])
    await browser_sign_in(page, base_url, tokens["ops-viewer"])
    await page.goto(f"{base_url}/admin/queues/report/jobs/{parent.id}")
    await expect(page.locator("h1 .state")).to_have_text("waiting-children")
    await expect(page.locator(".flow")).to_contain_text("2 still to finish")
    links = page.locator("ul.children a")
    await expect(links).to_have_text(
        [f"analytics / track-event #{first.id}", f"email / welcome #{second.id}"]
    )
    await links.nth(1).click()
    await expect(page).to_have_url(f"{base_url}/admin/queues/email/jobs/{second.id}")
    await page.click("a.parent")
    await expect(page).to_have_url(f"{base_url}/admin/queues/report/jobs/{parent.id}")
    await page.goto(f"{base_url}/admin/queues/report?state=waiting-children")
    await expect(page.locator("table.jobs tbody tr[data-job]")).to_have_count(1)


# The README's picture of the charts; refreshed like the overview's.
CHARTS_SCREENSHOT = ROOT / "docs" / "dashboard-charts.png"


async def test_overview_and_queue_pages_chart_the_last_day_per_minute(
    page: Page,
    base_url: str,
    manager: JobQueueManager,
    run_worker: RunWorker,
    tokens: dict[str, str],
    db_url: str,
) -> None:
    def work(job: Any) -> str:
        if job.data.get("fail"):
            raise RuntimeError("no")
        return "ok"

    registry = Registry()
    registry.add("test", "*", work)
    await manager.add_bulk("test", [{"name": "unit", "data": {}}] * 6)
    await manager.add_bulk(
        "test", [{"name": "bad", "data": {"fail": 1}, "opts": {"attempts": 1}}] * 2
    )
    async with run_worker(registry, {"test": 2}):
        await wait_for(lambda: stat_is(manager, "test", "completed", 6))
        await wait_for(lambda: stat_is(manager, "test", "failed", 2))
    await manager.clean_queue("test", 0, "completed")  # retention takes nothing from charts

    await browser_sign_in(page, base_url, tokens["ops-admin"])
    for path in ("/admin/", "/admin/queues/test"):
        await page.goto(f"{base_url}{path}")
        charts = page.locator("section.charts svg.chart")
        await expect(charts).to_have_count(3)
        for key in ("jobs", "wait", "run"):
            await expect(page.locator(f'svg[data-chart="{key}"]')).to_be_visible()
        jobs = page.locator('svg[data-chart="jobs"]')
        await expect(jobs.locator("desc")).to_have_text(
            re.compile(r"^6 completed and 2 failed; at most 8 in one minute$")
        )
        # The bars sit at the right end: the jobs finished in the last minute or two.
        assert await jobs.locator("rect.completed").count() >= 1
        assert await jobs.locator("rect.failed").count() >= 1
        box = await jobs.bounding_box()
        bar = await jobs.locator("rect.completed").last.bounding_box()
        assert box is not None and bar is not None
        assert bar["x"] > box["x"] + box["width"] * 0.95 and bar["height"] > 10
        assert await page.locator('svg[data-chart="run"] rect.median').count() >= 1
        assert await page.locator("script[src*='http']").count() == 0

    if os.environ.get("PGQUEUE_UPDATE_SCREENSHOTS"):
        # For the picture only: a made-up day of history, so the README shows a chart
        # with a shape. The assertions above ran on real jobs alone.
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                """
                INSERT INTO pgqueue_minute_deltas
                    (queue, minute, completed, failed, wait_ms, run_ms)
                SELECT 'test', date_trunc('minute', now()) - m * interval '1 minute',
                       (40 + 30 * sin(m / 90.0))::int, (m % 97 = 0)::int * 6,
                       ARRAY[(200 + 150 * sin(m / 60.0))::float8],
                       ARRAY[(900 + 400 * cos(m / 120.0))::float8]
                FROM generate_series(2, 1439) AS m
                """
            )
        await page.goto(f"{base_url}/admin/")
        await expect(page.locator("section.charts")).to_be_visible()
        CHARTS_SCREENSHOT.write_bytes(await page.locator("section.charts").screenshot())
