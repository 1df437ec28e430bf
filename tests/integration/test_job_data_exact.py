"""A processor sees its job's data exactly as it was added, whatever decodes it."""

from __future__ import annotations

from typing import Any

from pgqueue import JobQueueManager, JobState, RunningJob
from pgqueue.registry import Registry
from tests.helpers import RunWorker, wait_for

DATA = {
    "big": 2**70 + 1,
    "negative": -(2**64) - 1,
    "digits": "1234567890123456789012",
    "float": 0.1,
    "nested": [{"é": None, "t": True}, 2**63 - 1],
}


async def test_processor_gets_the_data_it_was_given(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    seen: list[Any] = []

    async def check(job: RunningJob) -> None:
        seen.append(job.data)

    registry = Registry()
    registry.add("test", "check", check)
    plain = await manager.add_job("test", "check", {"float": 0.5, "n": [1, 2]})
    exact = await manager.add_job("test", "check", DATA)
    async with run_worker(registry, {"test": 2}):
        await wait_for(lambda: _completed(manager, plain.id))
        await wait_for(lambda: _completed(manager, exact.id))
    assert sorted(seen, key=len) == [{"float": 0.5, "n": [1, 2]}, DATA]


async def _completed(manager: JobQueueManager, job_id: str) -> bool:
    job = await manager.get_job("test", job_id)
    return job is not None and job.state is JobState.COMPLETED
