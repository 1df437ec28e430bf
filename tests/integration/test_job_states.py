"""The user-visible states, derived in one SQL place: every inspecting path agrees."""

from __future__ import annotations

import uuid

import psycopg

from pgqueue import JobQueueManager, JobState
from pgqueue.store import ops
from pgqueue.store.sync import execute


async def test_each_state_is_seen_alike_by_get_job_get_jobs_stats_and_clean(
    manager: JobQueueManager, db_url: str
) -> None:
    ready = await manager.add_job("test", "ready", {})
    later = await manager.add_delayed_job("test", "later", {}, 3_600_000)
    held = await manager.add_job("held", "held", {})
    await manager.pause_queue("held")
    held_later = await manager.add_delayed_job("held", "held-later", {}, 3_600_000)
    running = await manager.add_job("busy", "running", {})
    worker = uuid.uuid4()
    with psycopg.connect(db_url, autocommit=True) as conn:
        execute(conn, ops.register_worker(worker, "host", 1, ["busy"]))
        execute(conn, ops.claim("busy", 1, worker))

    expected = {
        ("test", ready.id): JobState.WAITING,
        ("test", later.id): JobState.DELAYED,
        ("held", held.id): JobState.PAUSED,
        # Delayed comes before paused: its time has not come, paused queue or not.
        ("held", held_later.id): JobState.DELAYED,
        ("busy", running.id): JobState.ACTIVE,
    }
    for (queue, job_id), state in expected.items():
        found = await manager.get_job(queue, job_id)
        assert found is not None and found.state is state, (job_id, found)
        listed = await manager.get_jobs(queue, state.value)
        assert job_id in {j.id for j in listed}
        others = [s for s in JobState if s is not state]
        for other in others:
            assert job_id not in {j.id for j in await manager.get_jobs(queue, other.value)}

    stats = await manager.get_all_queue_stats()
    assert (stats["test"]["waiting"], stats["test"]["delayed"]) == (1, 1)
    assert (stats["held"]["paused"], stats["held"]["delayed"], stats["held"]["waiting"]) == (
        1,
        1,
        0,
    )
    assert stats["busy"]["active"] == 1

    assert await manager.clean_queue("held", 0, "paused") == [held.id]
    assert await manager.clean_queue("held", 0, "delayed") == [held_later.id]
    assert await manager.clean_queue("test", 0, "waiting") == [ready.id]
    assert await manager.clean_queue("test", 0, "delayed") == [later.id]
