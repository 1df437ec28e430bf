"""The REST routes for cancel, wait, rate limits and global concurrency: answers,
effects, audit, roles and bad input."""

from __future__ import annotations

import asyncio
from typing import Any

from pgqueue import JobQueueManager, JobState
from pgqueue.registry import Registry
from pgqueue.worker import RunningJob
from tests.api_support import Api, bearer, data_of, error_of, make_token
from tests.helpers import RunWorker

Q = "/api/v1/jobs/queues"


async def audit_actions(api: Api) -> list[tuple[str, str, str | None]]:
    entries = data_of(await api.get("/api/v1/jobs/audit?start=0&end=20"))
    return [(e["action"], e["outcome"], e["jobId"]) for e in entries]


async def test_cancel_route_cancels_records_who_and_is_audited(
    api: Api, manager: JobQueueManager
) -> None:
    job = await manager.add_job("email", "welcome", {})
    assert data_of(await api.post(f"{Q}/email/job/{job.id}/cancel")) == {"id": job.id}
    found = data_of(await api.get(f"{Q}/email/job/{job.id}"))
    assert found["state"] == "cancelled" and found["cancelledBy"] == "ops-admin"
    assert found["finishedOn"] is not None
    again = error_of(await api.post(f"{Q}/email/job/{job.id}/cancel"), 409)
    assert again["code"] == "CONFLICT"
    error_of(await api.post(f"{Q}/email/job/999999/cancel"), 404)
    error_of(await api.post(f"{Q}/email/job/abc/cancel"), 400)
    assert (await manager.get_queue_stats("email"))["cancelled"] == 1
    listed = data_of(await api.get(f"{Q}/email/jobs?state=cancelled"))
    assert [j["id"] for j in listed] == [job.id]
    actions = await audit_actions(api)
    assert ("cancel_job", "success", job.id) in actions
    assert ("cancel_job", "CONFLICT", job.id) in actions
    # Retry brings a cancelled job back.
    assert data_of(await api.post(f"{Q}/email/job/{job.id}/retry")) == {"id": job.id}
    assert data_of(await api.get(f"{Q}/email/job/{job.id}"))["state"] == "waiting"


async def test_viewer_may_read_limits_and_wait_but_not_change_anything(
    api: Api, manager: JobQueueManager, db_url: str
) -> None:
    viewer = bearer(await make_token(db_url, "VIEWER", "watcher"))
    job = await manager.add_job("email", "welcome", {})
    for path, body in (
        (f"{Q}/email/job/{job.id}/cancel", None),
        (f"{Q}/email/rate-limit", {"max": 5}),
        (f"{Q}/email/global-concurrency", {"concurrency": 2}),
    ):
        if body is None:
            response = await api.post(path, headers=viewer)
        else:
            response = await api.client.put(path, headers=viewer, json=body)
        assert error_of(response, 403)["code"] == "FORBIDDEN"
    error_of(await api.post(f"{Q}/email/job/{job.id}/cancel", headers=api.service), 403)
    error_of(await api.post(f"{Q}/email/job/{job.id}/cancel", headers={}), 401)
    limits = data_of(await api.get(f"{Q}/email/limits", headers=viewer))
    assert limits["rateLimit"] is None and limits["heldBack"] == 0
    waited = data_of(await api.get(f"{Q}/email/job/{job.id}/wait?timeout=1", headers=viewer))
    assert waited["finished"] is False and waited["job"]["state"] == "waiting"
    assert (await manager.get_job("email", job.id)).state is JobState.WAITING  # type: ignore[union-attr]


async def test_limits_routes_set_show_and_remove(api: Api, manager: JobQueueManager) -> None:
    set_rate = await api.client.put(
        f"{Q}/report/rate-limit", headers=api.admin, json={"max": 10, "duration": 2000}
    )
    assert data_of(set_rate) == {"queue": "report", "rateLimit": {"max": 10, "duration": 2000}}
    set_cap = await api.client.put(
        f"{Q}/report/global-concurrency", headers=api.admin, json={"concurrency": 3}
    )
    assert data_of(set_cap) == {"queue": "report", "globalConcurrency": 3}
    shown = data_of(await api.get(f"{Q}/report/limits"))
    assert shown["rateLimit"] == {"max": 10, "duration": 2000}
    assert shown["globalConcurrency"] == 3
    assert set(await manager.get_queue_limits()) == {"report"}
    for body in ({"max": 0}, {"max": "ten"}, {"max": 5, "duration": -1}, {"duration": 5}):
        response = await api.client.put(f"{Q}/report/rate-limit", headers=api.admin, json=body)
        assert error_of(response, 422)["code"] == "INVALID_INPUT"
    for wrong in ({"concurrency": 0}, {"concurrency": True}, {}, {"concurrency": 1, "x": 1}):
        response = await api.client.put(
            f"{Q}/report/global-concurrency", headers=api.admin, json=wrong
        )
        error_of(response, 422)
    await api.client.put(f"{Q}/report/rate-limit", headers=api.admin, json={"max": None})
    await api.client.put(
        f"{Q}/report/global-concurrency", headers=api.admin, json={"concurrency": None}
    )
    assert await manager.get_queue_limits() == {}
    actions = [a for a, _, _ in await audit_actions(api)]
    assert actions.count("set_rate_limit") >= 2 and actions.count("set_global_concurrency") >= 2


async def test_wait_route_answers_when_the_job_finishes(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()

    async def ok(job: RunningJob) -> str:
        return "sent"

    registry.add("email", "welcome", ok)
    job = await manager.add_job("email", "welcome", {}, lifo=True)
    waiting = asyncio.create_task(api.get(f"{Q}/email/job/{job.id}/wait?timeout=30"))
    async with run_worker(registry, {"email": 1}):
        result = data_of(await waiting)
    assert result["finished"] is True
    assert result["job"]["state"] == "completed" and result["job"]["returnValue"] == "sent"
    assert result["job"]["opts"]["lifo"] is True
    error_of(await api.get(f"{Q}/email/job/{job.id}/wait?timeout=0"), 400)
    error_of(await api.get(f"{Q}/email/job/{job.id}/wait?timeout=61"), 400)
    error_of(await api.get(f"{Q}/email/job/424242/wait?timeout=1"), 404)


async def test_flow_route_adds_a_tree_within_the_callers_scope(
    api: Api, manager: JobQueueManager, db_url: str
) -> None:
    flow = {
        "queue": "report",
        "name": "parent",
        "data": {},
        "children": [
            {"queue": "test", "name": "a", "data": {}, "opts": {"priority": 1}},
            {"queue": "test", "name": "b", "opts": {"failParentOnFailure": False}},
        ],
    }
    tree = data_of(await api.post("/api/v1/jobs/flows", json=flow), 201)
    parent = tree["job"]
    assert parent["state"] == "waiting-children" and parent["parentId"] is None
    [a, b] = [c["job"] for c in tree["children"]]
    assert a["parentId"] == parent["id"] and a["priority"] == 1
    assert b["opts"]["failParentOnFailure"] is False
    listed = data_of(await api.get(f"{Q}/report/job/{parent['id']}/children"))
    assert [j["id"] for j in listed] == [a["id"], b["id"]]
    assert ("add_flow", "success", parent["id"]) in await audit_actions(api)
    bad: Any
    for bad in (
        [],
        {**flow, "children": "x"},
        {**flow, "opts": {"jobId": "k"}},
        {**flow, "children": [{"queue": "test", "name": "c", "opts": {"nope": 1}}]},
        {"queue": "report"},
    ):
        error_of(await api.post("/api/v1/jobs/flows", json=bad), 422 if bad != [] else 400)
    scoped = bearer(await make_token(db_url, "SERVICE", "reporter"))
    viewer = bearer(await make_token(db_url, "VIEWER", "looker"))
    error_of(await api.post("/api/v1/jobs/flows", json=flow, headers=viewer), 403)
    added = data_of(await api.post("/api/v1/jobs/flows", json=flow, headers=scoped), 201)
    assert set(added["job"]) == {"id", "queue"}
    assert (await manager.get_queue_stats("report"))["waiting-children"] == 2
