"""Each admin route's answer, field by field, and its effect on the queue."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pgqueue import JobQueueManager, JobState, QueueName
from pgqueue.registry import Registry
from pgqueue.types import STAT_FIELDS
from pgqueue.worker import RunningJob
from tests.api_support import Api, data_of, error_of
from tests.helpers import RunWorker, fail_one, job_in, wait_for

Q = "/api/v1/jobs/queues"
JOB_FIELDS = {
    "id", "queue", "name", "data", "opts", "state", "priority", "progress", "attemptsMade",
    "maxAttempts", "failedReason", "stacktrace", "returnValue", "timestamp", "processedOn",
    "finishedOn", "runAt", "cancelledBy", "parentId",
}  # fmt: skip


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_all_queue_stats_lists_the_eight_queues_then_others(
    api: Api, manager: JobQueueManager
) -> None:
    await manager.add_job("email", "welcome", {})
    await manager.add_delayed_job("email", "later", {}, 60_000)
    await manager.add_job("my-own", "x", {})
    data = data_of(await api.get(Q))
    assert list(data) == [*(q.value for q in QueueName), "my-own"]
    for counts in data.values():
        assert set(counts) == set(STAT_FIELDS)
    assert data["email"] == {
        "waiting": 1, "active": 0, "completed": 0, "failed": 0, "delayed": 1, "paused": 0,
        "cancelled": 0, "waiting-children": 0,
    }  # fmt: skip
    assert data["my-own"]["waiting"] == 1
    assert data_of(await api.get(f"{Q}/email/stats")) == data["email"]
    assert data_of(await api.get(f"{Q}/nobody-uses-this/stats")) == dict.fromkeys(STAT_FIELDS, 0)


async def test_failed_list_has_the_guides_fields(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    before = now_ms()
    job_id = await fail_one(manager, run_worker)
    [item] = data_of(await api.get(f"{Q}/email/failed?start=0&end=10"))
    assert set(item) == JOB_FIELDS
    assert item["id"] == job_id and isinstance(item["id"], str)
    assert item["name"] == "welcome"
    assert item["data"] == {"to": "u@example.com"}
    assert item["failedReason"] == "SMTP connection timeout"
    assert item["attemptsMade"] == 1
    assert item["state"] == "failed"
    assert before - 1000 <= item["timestamp"] <= item["finishedOn"] <= now_ms() + 1000
    assert any("SMTP connection timeout" in line for line in item["stacktrace"])
    assert data_of(await api.get(f"{Q}/email/failed?start=1&end=10")) == []


async def test_job_detail_has_everything_including_logs(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    registry = Registry()

    async def send(job: RunningJob) -> dict[str, str]:
        await job.log("connecting to SMTP")
        await job.update_progress(50)
        return {"messageId": "m-1"}

    registry.add("email", "welcome", send)
    job = await manager.add_job(
        "email", "welcome", {"to": "a@b.c"}, job_id="welcome-a", remove_on_complete=False
    )
    async with run_worker(registry, {"email": 1}):
        await wait_for(lambda: job_in(manager, "email", job.id, JobState.COMPLETED))
    detail = data_of(await api.get(f"{Q}/email/job/{job.id}"))
    assert set(detail) == JOB_FIELDS | {"logs"}
    assert detail["id"] == job.id
    assert detail["queue"] == "email"
    assert detail["state"] == "completed"
    assert detail["progress"] == 50
    assert detail["returnValue"] == {"messageId": "m-1"}
    assert detail["attemptsMade"] == 1 and detail["maxAttempts"] == 3
    assert detail["failedReason"] is None and detail["stacktrace"] == []
    assert detail["opts"]["jobId"] == "welcome-a"
    assert detail["opts"]["removeOnComplete"] is False
    assert detail["timestamp"] <= detail["processedOn"] <= detail["finishedOn"]
    [line] = detail["logs"]
    assert line["message"] == "connecting to SMTP"
    assert detail["processedOn"] <= line["timestamp"] <= detail["finishedOn"]


async def test_list_jobs_by_state_pages_newest_first(api: Api, manager: JobQueueManager) -> None:
    ids = [(await manager.add_job("email", "welcome", {"n": n})).id for n in range(5)]
    await manager.add_delayed_job("email", "later", {}, 60_000)
    page = data_of(await api.get(f"{Q}/email/jobs?state=waiting&start=1&end=2"))
    assert [j["id"] for j in page] == [ids[3], ids[2]]
    assert [j["state"] for j in data_of(await api.get(f"{Q}/email/jobs?state=delayed"))] == [
        "delayed"
    ]
    assert len(data_of(await api.get(f"{Q}/email/jobs"))) == 5


async def test_retry_a_failed_job_then_409_once_it_waits(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    job_id = await fail_one(manager, run_worker)
    assert data_of(await api.post(f"{Q}/email/job/{job_id}/retry")) == {"id": job_id}
    job = await manager.get_job("email", job_id)
    assert job is not None and job.state is JobState.WAITING and job.attempts_made == 0
    error = error_of(await api.post(f"{Q}/email/job/{job_id}/retry"), 409)
    assert error["code"] == "CONFLICT" and "only failed or cancelled jobs" in error["message"]
    assert error_of(await api.post(f"{Q}/email/job/987654/retry"), 404)["code"] == "NOT_FOUND"
    assert error_of(await api.post(f"{Q}/report/job/{job_id}/retry"), 404)["code"] == "NOT_FOUND"


async def test_retry_all_failed(api: Api, manager: JobQueueManager, run_worker: RunWorker) -> None:
    await fail_one(manager, run_worker)
    assert data_of(await api.post(f"{Q}/email/retry-failed")) == {"count": 1}
    assert (await manager.get_queue_stats("email"))["failed"] == 0
    assert data_of(await api.post(f"{Q}/email/retry-failed")) == {"count": 0}


async def test_promote_and_remove(api: Api, manager: JobQueueManager) -> None:
    delayed = await manager.add_delayed_job("email", "later", {}, 3_600_000)
    assert data_of(await api.post(f"{Q}/email/job/{delayed.id}/promote")) == {"id": delayed.id}
    assert (await manager.get_queue_stats("email"))["waiting"] == 1
    assert error_of(await api.post(f"{Q}/email/job/{delayed.id}/promote"), 409)["code"] == (
        "CONFLICT"
    )
    assert data_of(await api.delete(f"{Q}/email/job/{delayed.id}")) == {"id": delayed.id}
    assert await manager.get_job("email", delayed.id) is None
    assert error_of(await api.delete(f"{Q}/email/job/{delayed.id}"), 404)["code"] == "NOT_FOUND"
    assert error_of(await api.get(f"{Q}/email/job/{delayed.id}"), 404)["code"] == "NOT_FOUND"


async def test_pause_and_resume(api: Api, manager: JobQueueManager) -> None:
    await manager.add_job("email", "welcome", {})
    assert data_of(await api.post(f"{Q}/email/pause")) == {"queue": "email", "paused": True}
    assert (await manager.get_queue_stats("email"))["paused"] == 1
    assert await manager.get_paused_queues() == {"email"}
    assert data_of(await api.post(f"{Q}/email/resume")) == {"queue": "email", "paused": False}
    assert (await manager.get_queue_stats("email"))["waiting"] == 1


async def test_clean_removes_only_old_jobs_in_the_status(
    api: Api, manager: JobQueueManager
) -> None:
    old = await manager.add_job("email", "welcome", {})
    body = {"grace": 0, "status": "waiting"}
    cleaned = data_of(await api.post(f"{Q}/email/clean", json=body))
    assert cleaned == {"count": 1, "removed": [old.id]}
    await manager.add_job("email", "welcome", {})
    week = {"grace": 604_800_000, "status": "waiting", "limit": 10}
    assert data_of(await api.post(f"{Q}/email/clean", json=week)) == {"count": 0, "removed": []}
    assert data_of(await api.post(f"{Q}/email/clean", json={"grace": 0})) == {
        "count": 0,
        "removed": [],
    }
    assert (await manager.get_queue_stats("email"))["waiting"] == 1


async def test_add_job_over_http_in_either_spelling(api: Api, manager: JobQueueManager) -> None:
    run_at = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "name": "welcome",
        "data": {"to": "a@b.c"},
        "opts": {"priority": 1, "jobId": "signup-42", "runAt": run_at.isoformat(), "attempts": 5},
    }
    added = data_of(await api.post(f"{Q}/email/jobs", json=body), 201)
    assert set(added) == JOB_FIELDS
    assert added["state"] == "delayed" and added["priority"] == 1
    assert added["maxAttempts"] == 5 and added["opts"]["jobId"] == "signup-42"
    assert abs(added["runAt"] - int(run_at.timestamp() * 1000)) <= 1
    again = data_of(await api.post(f"{Q}/email/jobs", json=body), 201)
    assert again["id"] == added["id"]
    snake = {"name": "report", "opts": {"remove_on_complete": 5, "job_id": "k-2"}}
    made = data_of(await api.post(f"{Q}/report/jobs", json=snake), 201)
    assert made["data"] == {} and made["opts"]["removeOnComplete"] == 5
    job = await manager.get_job("report", made["id"])
    assert job is not None and job.key == "k-2"


async def test_repeatable_jobs_listed_and_removed(api: Api, manager: JobQueueManager) -> None:
    key = await manager.add_repeating_job("report", "daily", {"kind": "x"}, "0 9 * * *", tz="UTC")
    [entry] = data_of(await api.get("/api/v1/jobs/repeatable"))
    assert entry["key"] == key
    assert (entry["queue"], entry["name"], entry["cron"], entry["tz"]) == (
        "report", "daily", "0 9 * * *", "UTC"
    )  # fmt: skip
    assert isinstance(entry["nextRun"], int) and entry["nextRun"] > now_ms()
    assert entry["data"] == {"kind": "x"}
    assert data_of(await api.delete(f"/api/v1/jobs/repeatable/{key}")) == {"key": key}
    assert await manager.get_repeating_jobs() == []
    error = error_of(await api.delete(f"/api/v1/jobs/repeatable/{key}"), 404)
    assert error["code"] == "NOT_FOUND"


async def test_every_mutating_call_is_audited_with_its_outcome(
    api: Api, manager: JobQueueManager
) -> None:
    waiting = await manager.add_job("email", "welcome", {})
    before = now_ms()
    await api.post(f"{Q}/email/pause")
    await api.post(f"{Q}/email/job/{waiting.id}/retry")
    await api.post(f"{Q}/email/clean", json={"grace": -1})
    await api.get(f"{Q}/email/stats")
    entries = data_of(await api.get("/api/v1/jobs/audit?start=0&end=9"))
    assert [(e["action"], e["queue"], e["jobId"], e["outcome"]) for e in entries] == [
        ("clean_queue", "email", None, "INVALID_INPUT"),
        ("retry_job", "email", waiting.id, "CONFLICT"),
        ("pause_queue", "email", None, "success"),
    ]
    for entry in entries:
        assert entry["actor"] == "ops-admin" and entry["role"] == "ADMIN"
        assert before - 1000 <= entry["timestamp"] <= now_ms() + 1000
        assert isinstance(entry["id"], str)
    assert entries[0]["detail"]["grace"] == -1
    oldest = data_of(await api.get("/api/v1/jobs/audit?start=2&end=2"))
    assert [e["action"] for e in oldest] == ["pause_queue"]
