"""The dashboard over HTTP: sessions, CSRF, roles, escaping, and each page and action.

Requests go through the ASGI app in the test's own event loop, against a real database.
The browser end to end is in test_dashboard_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from pgqueue import ConfigurationError, JobQueueManager, JobState
from pgqueue.dashboard import DashboardSettings
from pgqueue.registry import Registry
from tests.dashboard_support import HOSTILE, client_for, csrf_of, sign_in
from tests.helpers import RunWorker, stat_is, wait_for


@pytest.fixture
async def client(manager: JobQueueManager) -> AsyncIterator[httpx2.AsyncClient]:
    async with client_for(manager) as c:
        yield c


PAGES = [
    "/admin/",
    "/admin/queues/email",
    "/admin/queues/email/jobs/1",
    "/admin/schedules",
    "/admin/workers",
    "/admin/tokens",
    "/admin/audit",
]
ACTIONS = [
    "/admin/queues/email/pause",
    "/admin/queues/email/resume",
    "/admin/queues/email/clean",
    "/admin/queues/email/retry-failed",
    "/admin/queues/email/promote-delayed",
    "/admin/queues/email/jobs/1/retry",
    "/admin/queues/email/jobs/1/promote",
    "/admin/queues/email/jobs/1/remove",
    "/admin/schedules/remove",
]


async def test_nothing_is_reachable_without_a_session(
    client: httpx2.AsyncClient, manager: JobQueueManager
) -> None:
    job = await manager.add_job("email", "welcome", {})
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login?next="), path
    for path in ACTIONS:
        response = await client.post(path, data={"state": "waiting", "grace": "0"})
        assert response.status_code == 303, path
        assert response.headers["location"] == "/admin/login", path
    assert await manager.get_paused_queues() == set()
    assert await manager.get_job("email", job.id) is not None
    client.cookies.set("pgqueue_dashboard", "eyJ1IjoiYWRtaW4ifQ.forged", path="/admin")
    assert (await client.get("/admin/")).status_code == 303


async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
    client: httpx2.AsyncClient, tokens: dict[str, str]
) -> None:
    form = await client.get("/admin/login")
    assert form.status_code == 200
    response = await client.post(
        "/admin/login",
        data={"csrf": csrf_of(form.text), "token": tokens["ops-admin"], "next": "/admin/workers"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/workers"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie
    overview = await client.get("/admin/")
    assert overview.status_code == 200 and "ops-admin" in overview.text
    out = await client.post("/admin/logout", data={"csrf": csrf_of(overview.text)})
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    assert (await client.get("/admin/")).status_code == 303
    assert "Signed out." in (await client.get("/admin/login")).text


async def test_sign_in_refuses_bad_tokens_roles_forms_and_foreign_redirects(
    client: httpx2.AsyncClient, tokens: dict[str, str]
) -> None:
    form = await client.get("/admin/login")
    csrf = csrf_of(form.text)
    for token, status, message in (
        ("pgq_unknown", 401, "That token is not valid."),
        (tokens["gone"], 401, "That token is not valid."),
        (tokens["ci"], 403, "The DEPLOYER role cannot use the dashboard"),
    ):
        refused = await client.post("/admin/login", data={"csrf": csrf, "token": token})
        assert refused.status_code == status and message in refused.text
        assert (await client.get("/admin/")).status_code == 303
    forged = await client.post("/admin/login", data={"csrf": "guess", "token": tokens["ops-admin"]})
    assert forged.status_code == 303 and forged.headers["location"] == "/admin/login"
    assert (await client.get("/admin/")).status_code == 303
    for target in ("https://evil.example/", "//evil.example/admin/", "/elsewhere"):
        client.cookies.clear()
        form = await client.get("/admin/login")
        response = await client.post(
            "/admin/login",
            data={"csrf": csrf_of(form.text), "token": tokens["ops-admin"], "next": target},
        )
        assert response.headers["location"] == "/admin/", target


async def test_actions_need_the_csrf_token(
    client: httpx2.AsyncClient, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    csrf = await sign_in(client, tokens["ops-admin"])
    for data in ({}, {"csrf": "not-the-token"}):
        response = await client.post("/admin/queues/email/pause", data=data)
        assert response.status_code == 403
    json_body = await client.post("/admin/queues/email/pause", json={"csrf": csrf})
    assert json_body.status_code == 403
    assert await manager.get_paused_queues() == set()
    assert (await client.post("/admin/logout", data={})).status_code == 403
    assert (await client.get("/admin/")).status_code == 200


async def test_a_viewer_sees_everything_and_changes_nothing(
    client: httpx2.AsyncClient, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    job = await manager.add_delayed_job("email", "later", {}, 60_000)
    csrf = await sign_in(client, tokens["ops-viewer"])
    for path in [*PAGES[:2], f"/admin/queues/email/jobs/{job.id}", *PAGES[3:]]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "/pause" not in page.text and "/promote" not in page.text, path
    for path in ("/admin/queues/email/pause", f"/admin/queues/email/jobs/{job.id}/promote"):
        response = await client.post(path, data={"csrf": csrf})
        assert response.status_code == 403
        assert "VIEWER role can look, not act" in response.text
    assert await manager.get_paused_queues() == set()
    promoted = await manager.get_job("email", job.id)
    assert promoted is not None and promoted.state is JobState.DELAYED


async def test_overview_shows_counts_activity_and_configurable_health_warnings(
    manager: JobQueueManager, run_worker: RunWorker, tokens: dict[str, str]
) -> None:
    registry = Registry()
    registry.add("report", "*", lambda job: "done")
    await manager.add_job("report", "pipeline-report", {})
    async with run_worker(registry, {"report": 1}):
        await wait_for(lambda: stat_is(manager, "report", "completed", 1))
    await manager.add_bulk("notification", [{"name": "push", "data": {}}] * 3)
    await manager.pause_queue("cleanup")
    settings = DashboardSettings(max_waiting=2, max_failed=100)
    async with client_for(manager, settings) as client:
        await sign_in(client, tokens["ops-admin"])
        html = (await client.get("/admin/")).text
    rows = re.findall(r'<tr data-queue="([^"]+)">', html)
    assert rows == [
        "email", "report", "pipeline", "test", "deployment", "notification", "cleanup",
        "analytics",
    ]  # fmt: skip
    assert "notification</a>: Queue backing up: 3 waiting (over 2)" in html
    assert "High failure rate" not in html
    report = _row(html, "report")
    assert re.search(r'data-state="completed">\s*<a [^>]*>1</a>', report)
    assert "0.0%" in report  # failure rate over the last hour
    assert "paused</span>" in _row(html, "cleanup")
    assert re.search(r"<td class=\"num\">\d+ seconds?</td>", _row(html, "notification"))


def _row(html: str, queue: str) -> str:
    start = html.index(f'<tr data-queue="{queue}">')
    return html[start : html.index("</tr>", start)]


async def test_queue_page_pages_searches_and_lists_by_state(
    manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    jobs = await manager.add_bulk("email", [{"name": f"welcome-{i}", "data": {}} for i in range(5)])
    await manager.add_job("email", "password-reset", {}, job_id="reset-7")
    settings = DashboardSettings(page_size=2)
    async with client_for(manager, settings) as client:
        await sign_in(client, tokens["ops-admin"])

        async def ids(query: str) -> list[str]:
            html = (await client.get(f"/admin/queues/email?{query}")).text
            return re.findall(r'<tr data-job="(\d+)">', html)

        first = await ids("state=waiting")
        assert len(first) == 2
        page3 = await client.get("/admin/queues/email?state=waiting&page=3")
        assert len(re.findall(r'<tr data-job="', page3.text)) == 2
        assert "page=4" not in page3.text and "page=2" in page3.text
        assert await ids("q=welcome-3") == [jobs[3].id]
        assert (await ids(f"q={jobs[1].id}"))[0] == jobs[1].id  # the id first, then names
        assert len(await ids("q=reset-7")) == 1
        assert await ids("state=failed") == []
        bad = await client.get("/admin/queues/email?state=lost")
        assert bad.status_code == 400 and "state must be one of" in bad.text
        invalid_queue = await client.get("/admin/queues/no%20spaces")
        assert invalid_queue.status_code == 400


async def test_queue_actions_pause_clean_retry_all_and_promote_all(
    client: httpx2.AsyncClient,
    manager: JobQueueManager,
    run_worker: RunWorker,
    tokens: dict[str, str],
) -> None:
    registry = Registry()

    def run(job: Any) -> str:
        if job.name == "broken":
            raise RuntimeError("smtp down")
        return "sent"

    registry.add("email", "*", run)
    await manager.add_job("email", "broken", {}, attempts=1)
    await manager.add_job("email", "welcome", {})
    async with run_worker(registry, {"email": 1}):
        await wait_for(lambda: stat_is(manager, "email", "failed", 1))
        await wait_for(lambda: stat_is(manager, "email", "completed", 1))
    await manager.add_delayed_job("email", "later", {}, 60_000)
    csrf = await sign_in(client, tokens["ops-admin"])
    back = "/admin/queues/email?state=failed&page=1"

    async def post(action: str, **form: str) -> str:
        response = await client.post(
            f"/admin/queues/email/{action}", data={"csrf": csrf, "back": back, **form}
        )
        assert response.status_code == 303
        assert response.headers["location"] == back
        return (await client.get(back)).text

    assert "Paused email" in await post("pause")
    assert await manager.get_paused_queues() == {"email"}
    assert "Resumed email" in await post("resume")
    assert await manager.get_paused_queues() == set()
    assert "Removed 0 completed jobs older than 3600 s" in await post(
        "clean", state="completed", grace="3600"
    )
    assert "Removed 1 completed jobs older than 0 s" in await post(
        "clean", state="completed", grace="0"
    )
    assert "grace period must be a whole number" in await post("clean", state="failed", grace="x")
    assert "clean takes a status of" in await post("clean", state="active", grace="0")
    assert "Retrying 1 failed jobs of email" in await post("retry-failed")
    assert "Promoted 1 delayed jobs of email" in await post("promote-delayed")
    stats = await manager.get_queue_stats("email")
    assert (stats["completed"], stats["failed"], stats["delayed"], stats["waiting"]) == (0, 0, 0, 2)


async def test_job_page_shows_everything_and_its_actions_work(
    client: httpx2.AsyncClient,
    manager: JobQueueManager,
    run_worker: RunWorker,
    tokens: dict[str, str],
) -> None:
    registry = Registry()

    async def run(job: Any) -> None:
        await job.update_progress(40)
        await job.log("rendering the template")
        raise RuntimeError("template missing")

    registry.add("email", "*", run)
    failed = await manager.add_job("email", "welcome", {"to": "u@example.com"}, attempts=1)
    async with run_worker(registry, {"email": 1}):
        await wait_for(lambda: stat_is(manager, "email", "failed", 1))
    csrf = await sign_in(client, tokens["ops-admin"])
    html = (await client.get(f"/admin/queues/email/jobs/{failed.id}")).text
    for expected in (
        '<progress max="100" value="40.0">',
        "1 of 1",
        "template missing",
        'class="stack">Traceback',
        "rendering the template",
        "&#34;to&#34;: &#34;u@example.com&#34;",
        "&#34;attempts&#34;: 1",
        f"/admin/queues/email/jobs/{failed.id}/retry",
    ):
        assert expected in html, expected
    retried = await client.post(f"/admin/queues/email/jobs/{failed.id}/retry", data={"csrf": csrf})
    assert retried.headers["location"] == f"/admin/queues/email/jobs/{failed.id}"
    assert "is waiting to run again" in (await client.get(retried.headers["location"])).text

    delayed = await manager.add_delayed_job("email", "later", {}, 60_000)
    await client.post(f"/admin/queues/email/jobs/{delayed.id}/promote", data={"csrf": csrf})
    promoted = await manager.get_job("email", delayed.id)
    assert promoted is not None and promoted.state is JobState.WAITING
    again = await client.post(f"/admin/queues/email/jobs/{delayed.id}/promote", data={"csrf": csrf})
    assert "only delayed jobs can be promoted" in (await client.get(again.headers["location"])).text
    removed = await client.post(
        f"/admin/queues/email/jobs/{delayed.id}/remove", data={"csrf": csrf}
    )
    assert removed.headers["location"] == "/admin/queues/email"
    assert await manager.get_job("email", delayed.id) is None
    gone = await client.get(f"/admin/queues/email/jobs/{delayed.id}")
    assert gone.status_code == 404


async def test_hostile_names_and_data_are_escaped_everywhere(
    client: httpx2.AsyncClient, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    job = await manager.add_job("email", HOSTILE, {HOSTILE: HOSTILE}, job_id=HOSTILE)
    await manager.add_job("analytics", "track", {}, job_id="</pre><script>alert(1)</script>")
    csrf = await sign_in(client, tokens["ops-admin"])
    await client.post(
        f"/admin/queues/email/jobs/{HOSTILE}/retry", data={"csrf": csrf, "back": "/admin/"}
    )
    pages = [
        "/admin/",
        "/admin/queues/email",
        f"/admin/queues/email?q={HOSTILE}",
        f"/admin/queues/email/jobs/{job.id}",
        "/admin/queues/analytics?q=%3C%2Fpre%3E",
        f"/admin/login?next={HOSTILE}",
    ]
    for path in pages:
        html = (await client.get(path)).text
        assert "<img" not in html and "<script>" not in html, path
    html = (await client.get(f"/admin/queues/email/jobs/{job.id}")).text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


async def test_responses_forbid_framing_inline_script_and_caching(
    client: httpx2.AsyncClient, tokens: dict[str, str]
) -> None:
    await sign_in(client, tokens["ops-admin"])
    for path in ("/admin/", "/admin/login", "/admin/static/dashboard.css"):
        headers = (await client.get(path)).headers
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["cache-control"] == "no-store", path
    css = await client.get("/admin/static/dashboard.css")
    assert css.headers["content-type"].startswith("text/css")


async def test_workers_page_lists_live_workers(
    client: httpx2.AsyncClient,
    manager: JobQueueManager,
    run_worker: RunWorker,
    tokens: dict[str, str],
) -> None:
    await sign_in(client, tokens["ops-admin"])
    assert "No worker is running." in (await client.get("/admin/workers")).text
    async with run_worker(Registry(), {"email": 1, "report": 2}) as worker:
        html = (await client.get("/admin/workers")).text
        assert f'data-worker="{worker.id}"' in html
        assert '<a href="/admin/queues/email">email</a>, <a href="/admin/queues/report">' in html


async def test_schedules_page_lists_next_runs_and_removes(
    client: httpx2.AsyncClient, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    daily = await manager.add_repeating_job(
        "cleanup", "old-logs", {}, "0 3 * * *", tz="Europe/Berlin"
    )
    await manager.add_repeating_job("analytics", HOSTILE, {}, None, every=90_000)
    csrf = await sign_in(client, tokens["ops-admin"])
    html = (await client.get("/admin/schedules")).text
    row = html[html.index(f'data-schedule="{daily}"') :]
    row = row[: row.index("</tr>")]
    assert "<code>0 3 * * *</code>" in row and "Europe/Berlin" in row
    assert re.search(r"in \d+ (hours?|minutes?|seconds?) <span", row)
    assert re.search(r"\d{4}-\d\d-\d\d 03:00:00 Europe/Berlin", row)
    assert "every 90 seconds" in html and "&lt;img" in html and "<img" not in html
    removed = await client.post("/admin/schedules/remove", data={"csrf": csrf, "key": daily})
    assert removed.headers["location"] == "/admin/schedules"
    after = (await client.get("/admin/schedules")).text
    assert "Removed the schedule." in after and daily not in after
    assert [s["name"] for s in await manager.get_repeating_jobs()] == [HOSTILE]
    again = await client.post("/admin/schedules/remove", data={"csrf": csrf, "key": daily})
    assert "no repeating job has key" in (await client.get(again.headers["location"])).text


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGQUEUE_SESSION_SECRET", "s" * 32)
    monkeypatch.setenv("PGQUEUE_HEALTH_MAX_FAILED", "5")
    monkeypatch.setenv("PGQUEUE_HEALTH_MAX_WAITING", "50")
    monkeypatch.setenv("PGQUEUE_DASHBOARD_REFRESH", "0")
    settings = DashboardSettings.from_env()
    assert settings.session_secret == b"s" * 32
    assert (settings.max_failed, settings.max_waiting, settings.refresh_seconds) == (5, 50, 0)
    monkeypatch.setenv("PGQUEUE_SESSION_SECRET", "short")
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        DashboardSettings.from_env()
    monkeypatch.delenv("PGQUEUE_SESSION_SECRET")
    monkeypatch.setenv("PGQUEUE_HEALTH_MAX_FAILED", "many")
    with pytest.raises(ConfigurationError, match="PGQUEUE_HEALTH_MAX_FAILED must be a whole"):
        DashboardSettings.from_env()
    monkeypatch.delenv("PGQUEUE_HEALTH_MAX_FAILED")
    assert (
        DashboardSettings.from_env().session_secret != DashboardSettings.from_env().session_secret
    )


async def client_audit_page(client: httpx2.AsyncClient, tokens: dict[str, str]) -> httpx2.Response:
    """The audit page as a viewer sees it right after signing in; signs out after."""
    csrf = await sign_in(client, tokens["ops-viewer"])
    page = await client.get("/admin/audit")
    await client.post("/admin/logout", data={"csrf": csrf})
    return page


async def test_actions_are_recorded_in_the_audit_trail(
    client: httpx2.AsyncClient, manager: JobQueueManager, tokens: dict[str, str]
) -> None:
    first = (await client_audit_page(client, tokens)).text
    assert "sign_in" in first and "Nothing recorded yet." not in first
    csrf = await sign_in(client, tokens["ops-admin"])
    await client.post("/admin/queues/email/pause", data={"csrf": csrf})
    await client.post("/admin/queues/email/jobs/404/retry", data={"csrf": csrf})
    rest = await client.post(
        "/api/v1/jobs/queues/email/resume",
        headers={"Authorization": f"Bearer {tokens['ops-admin']}"},
    )
    assert rest.status_code == 200
    html = (await client.get("/admin/audit")).text
    rows = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr>\s*<td title=.*?</tr>", html, re.S)
    ]
    assert [row.split(" &#34;")[0].split(" {")[0] for row in rows] == [
        "now ops-admin ADMIN resume_queue email success",
        "now ops-admin ADMIN retry_job email 404 NOT_FOUND",
        "now ops-admin ADMIN pause_queue email success",
        "now ops-admin ADMIN sign_in success",
        "now ops-viewer VIEWER sign_out success",
        "now ops-viewer VIEWER sign_in success",
    ]
    assert "&#34;via&#34;: &#34;dashboard&#34;" in rows[2]
    assert "job 404 not found in queue" in rows[1]
