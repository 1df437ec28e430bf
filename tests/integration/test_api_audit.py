"""The audit log records promote, remove, retry-all and schedule removal, with their effect."""

from __future__ import annotations

from typing import Any

from pgqueue import JobQueueManager, JobState
from tests.api_support import Api, data_of
from tests.helpers import RunWorker, fail_one

Q = "/api/v1/jobs/queues"


def _rows(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["action"], e["queue"], e["jobId"], e["outcome"], e["actor"]) for e in entries]


async def test_promote_remove_retry_all_and_schedule_removal_are_audited(
    api: Api, manager: JobQueueManager, run_worker: RunWorker
) -> None:
    failed_id = await fail_one(manager, run_worker, "email")
    delayed = await manager.add_delayed_job("email", "later", {}, 3_600_000)
    doomed = await manager.add_job("email", "doomed", {})
    key = await manager.add_repeating_job("report", "daily", {}, "0 9 * * *")

    data_of(await api.post(f"{Q}/email/job/{delayed.id}/promote"))
    data_of(await api.delete(f"{Q}/email/job/{doomed.id}"))
    assert data_of(await api.post(f"{Q}/email/retry-failed")) == {"count": 1}
    data_of(await api.delete(f"/api/v1/jobs/repeatable/{key}"))

    entries = data_of(await api.get("/api/v1/jobs/audit?start=0&end=9"))
    assert _rows(entries) == [
        ("remove_repeatable", None, None, "success", "ops-admin"),
        ("retry_failed_jobs", "email", None, "success", "ops-admin"),
        ("remove_job", "email", doomed.id, "success", "ops-admin"),
        ("promote_job", "email", delayed.id, "success", "ops-admin"),
    ]
    assert entries[0]["detail"]["key"] == key
    assert entries[1]["detail"]["count"] == 1
    # What the log says happened did happen.
    promoted = await manager.get_job("email", delayed.id)
    assert promoted is not None and promoted.state is JobState.WAITING
    assert await manager.get_job("email", doomed.id) is None
    retried = await manager.get_job("email", failed_id)
    assert retried is not None and retried.state is JobState.WAITING
    assert await manager.get_repeating_jobs() == []


async def test_a_refused_promote_and_remove_are_audited_with_their_error(
    api: Api, manager: JobQueueManager
) -> None:
    await api.post(f"{Q}/email/job/404/promote")
    await api.delete(f"{Q}/email/job/404")
    await api.delete("/api/v1/jobs/repeatable/no-such-schedule")
    entries = data_of(await api.get("/api/v1/jobs/audit?start=0&end=9"))
    assert [(e["action"], e["jobId"], e["outcome"]) for e in entries] == [
        ("remove_repeatable", None, "NOT_FOUND"),
        ("remove_job", "404", "NOT_FOUND"),
        ("promote_job", "404", "NOT_FOUND"),
    ]
