"""Bad input over HTTP: a 4xx with a message in the error envelope, and nothing written."""

from __future__ import annotations

from typing import Any

from pgqueue import JobQueueManager
from tests.api_support import Api, error_of

Q = "/api/v1/jobs/queues"


async def snapshot(manager: JobQueueManager) -> Any:
    return await manager.get_all_queue_stats(), await manager.get_paused_queues()


BAD_REQUESTS = [
    ("GET", f"{Q}/email/failed?start=abc", None, 400),
    ("GET", f"{Q}/email/failed?end=1.5", None, 400),
    ("GET", f"{Q}/email/failed?start=99999999999999999999", None, 400),
    ("GET", f"{Q}/email/failed?start=-3", None, 422),
    ("GET", f"{Q}/email/failed?start=", None, 400),
    ("GET", f"{Q}/email/jobs?state=", None, 422),
    ("GET", f"{Q}/email/jobs?state=sleeping", None, 422),
    ("GET", f"{Q}/email/job/abc", None, 400),
    ("GET", f"{Q}/email/job/0", None, 404),
    ("GET", f"{Q}/email/job/9999999999999999999", None, 404),
    ("GET", f"{Q}/email/job/99999999999999999999999", None, 400),
    ("POST", f"{Q}/email/job/12x/retry", None, 400),
    ("DELETE", f"{Q}/email/job/-1", None, 400),
    ("GET", f"{Q}/bad%20name!/stats", None, 422),
    ("POST", f"{Q}/{'q' * 200}/pause", None, 422),
    ("GET", "/api/v1/jobs/audit?end=x", None, 400),
    ("GET", "/api/v1/jobs/nothing-here", None, 404),
    ("PUT", f"{Q}/email/pause", None, 405),
]


async def test_bad_paths_and_queries(api: Api, manager: JobQueueManager) -> None:
    before = await snapshot(manager)
    for method, path, body, status in BAD_REQUESTS:
        response = await api.client.request(method, path, headers=api.admin, json=body)
        error_of(response, status)
    assert await snapshot(manager) == before


async def test_an_end_before_the_start_is_an_empty_page(api: Api, manager: JobQueueManager) -> None:
    await manager.add_job("email", "x", None)
    response = await api.client.get(f"{Q}/email/jobs?start=5&end=2", headers=api.admin)
    assert response.status_code == 200 and response.json()["data"] == []
    assert await manager.get_jobs("email", "waiting", 1, 0) == []


BAD_CLEANS = [
    (b"{not json", 400, "not valid JSON"),
    (b'{"grace": NaN}', 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b"", 400, "body is required"),
    (b"{}", 422, "grace (ms) is required"),
    (b'{"grace": -1}', 422, "grace must be"),
    (b'{"grace": "soon"}', 422, "grace must be"),
    (b'{"grace": true}', 422, "grace must be"),
    (b'{"grace": 1.5}', 422, "grace must be"),
    (b'{"grace": 1e400}', 422, "grace must be"),
    (
        b'{"grace": 10000000000000000000000000000}',
        422,
        "grace must be a whole number of ms between",
    ),
    (b'{"grace": 0, "status": "sleeping"}', 422, "state must be one of"),
    (b'{"grace": 0, "status": "active"}', 422, "clean takes a status"),
    (b'{"grace": 0, "limit": 0}', 422, "limit must be"),
    (b'{"grace": 0, "limit": 99999999999999999999}', 422, "limit must be a whole number between"),
    (b'{"grace": 0, "force": true}', 422, "unknown fields"),
]


async def test_bad_clean_bodies(api: Api, manager: JobQueueManager) -> None:
    await manager.add_job("email", "welcome", {})
    before = await snapshot(manager)
    headers = {**api.admin, "Content-Type": "application/json"}
    for body, status, message in BAD_CLEANS:
        response = await api.post(f"{Q}/email/clean", content=body, headers=headers)
        assert message in error_of(response, status)["message"], body
    assert await snapshot(manager) == before


BAD_JOBS: list[tuple[dict[str, Any], str]] = [
    ({"data": {}}, "job name must be"),
    ({"name": ""}, "job name must be"),
    ({"name": 5}, "job name must be"),
    ({"name": "x", "opts": []}, "opts must be a JSON object"),
    ({"name": "x", "opts": {"connection": "x"}}, "unknown job options"),
    ({"name": "x", "opts": {"colour": "red"}}, "unknown job options"),
    ({"name": "x", "opts": {"attempts": 0}}, "attempts must be"),
    ({"name": "x", "opts": {"priority": "high"}}, "priority must be"),
    ({"name": "x", "opts": {"delay": -5}}, "delay must be"),
    ({"name": "x", "opts": {"delay": 10**30}}, "delay must be"),
    ({"name": "x", "opts": {"removeOnComplete": 10**12}}, "remove_on_complete must be"),
    ({"name": "x", "opts": {"runAt": "tomorrow"}}, "ISO 8601"),
    ({"name": "x", "opts": {"runAt": "2030-01-01T09:00:00"}}, "UTC offset"),
    ({"name": "x", "opts": {"runAt": 5}}, "ISO 8601"),
    ({"name": "x", "extra": 1}, "unknown fields"),
    ({"name": "x", "data": "\u0000"}, "NUL"),
]


async def test_bad_jobs_are_refused_and_nothing_is_added(
    api: Api, manager: JobQueueManager
) -> None:
    before = await snapshot(manager)
    for body, message in BAD_JOBS:
        response = await api.post(f"{Q}/email/jobs", json=body)
        assert message in error_of(response, 422)["message"], body
    assert await snapshot(manager) == before


async def test_an_oversized_body_is_413(api: Api, manager: JobQueueManager) -> None:
    huge = {"name": "x", "data": "a" * 2_000_000}
    error = error_of(await api.post(f"{Q}/email/jobs", json=huge), 413)
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert (await manager.get_queue_stats("email"))["waiting"] == 0
