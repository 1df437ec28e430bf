"""Bad input to enqueue raises a clear pgqueue error and writes nothing."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pgqueue import InvalidJobError, JobQueueManager, PgQueueError, SyncJobQueueManager, errors
from pgqueue.config import Settings


@pytest.mark.parametrize(
    ("queue", "name", "data", "options", "message"),
    [
        ("email", "x", object(), {}, "JSON-serialisable"),
        ("email", "x", {"n": math.nan}, {}, "JSON-serialisable"),
        ("email", "x", {"s": "a\x00b"}, {}, "NUL"),
        ("email", "x", {"big": "x" * 2_000_000}, {}, "over the 1000000 limit"),
        ("", "x", {}, {}, "queue name"),
        ("q" * 129, "x", {}, {}, "queue name"),
        ("has space", "x", {}, {}, "queue name"),
        (None, "x", {}, {}, "queue name"),
        ("email", "", {}, {}, "job name"),
        ("email", "n" * 256, {}, {}, "longer than 255"),
        ("email", "x", {}, {"attempts": 0}, "attempts must be"),
        ("email", "x", {}, {"attempts": "3"}, "attempts must be a whole number"),
        ("email", "x", {}, {"delay": -1}, "delay must be"),
        ("email", "x", {}, {"priority": 0}, "priority must be"),
        ("email", "x", {}, {"backoff": {"type": "linear", "delay": 5}}, "backoff type"),
        ("email", "x", {}, {"backoff": -5}, "backoff must be"),
        ("email", "x", {}, {"backoff": {"delay": 10**20}}, "backoff delay must be"),
        ("email", "x", {}, {"timeout": 10**20}, "timeout must be"),
        ("email", "x", {}, {"remove_on_complete": -1}, "remove_on_complete"),
        ("email", "x", {}, {"remove_on_fail": {"ttl": 5}}, "remove_on_fail"),
        ("email", "x", {}, {"timeout": 0}, "timeout must be"),
        ("email", "x", {}, {"job_id": ""}, "job_id"),
        ("email", "x", {}, {"run_at": "tomorrow"}, "run_at must be a datetime"),
        ("email", "x", {}, {"atempts": 3}, "unknown job options"),
    ],
)
async def test_bad_input_is_rejected_and_nothing_written(
    manager: JobQueueManager,
    queue: Any,
    name: Any,
    data: Any,
    options: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(InvalidJobError, match=message):
        await manager.add_job(queue, name, data, **options)
    assert await _total(manager) == 0


async def _total(manager: JobQueueManager) -> int:
    stats = await manager.get_all_queue_stats()
    return sum(n for counts in stats.values() for n in counts.values() if isinstance(n, int))


async def test_one_bad_item_rejects_the_whole_bulk(manager: JobQueueManager) -> None:
    with pytest.raises(InvalidJobError, match="add_bulk item 2"):
        await manager.add_bulk(
            "email", [{"name": "a"}, {"name": "b"}, {"name": "c", "opts": {"attempts": 0}}]
        )
    with pytest.raises(InvalidJobError, match="unknown keys"):
        await manager.add_bulk("email", [{"name": "a", "payload": {}}])
    # Options shared by many jobs are checked once, but `True` is not taken for `1`.
    with pytest.raises(InvalidJobError, match="add_bulk item 1: priority"):
        await manager.add_bulk(
            "email",
            [{"name": "a", "opts": {"priority": 1}}, {"name": "b", "opts": {"priority": True}}],
        )
    assert await _total(manager) == 0


async def test_payload_limit_is_configurable(db_url: str) -> None:
    async with JobQueueManager(db_url, settings=Settings(max_payload_bytes=100)) as small:
        with pytest.raises(InvalidJobError, match="over the 100 limit"):
            await small.add_job("email", "x", {"s": "y" * 200})
        assert (await small.add_job("email", "x", {"s": "y" * 50})).data == {"s": "y" * 50}


def test_sync_manager_rejects_the_same(sync_manager: SyncJobQueueManager) -> None:
    with pytest.raises(InvalidJobError):
        sync_manager.add_delayed_job("email", "x", {}, -5)
    with pytest.raises(InvalidJobError):
        sync_manager.add_scheduled_job("email", "x", {}, "2030-01-01")  # type: ignore[arg-type]
    assert sync_manager.get_queue_stats("email")["waiting"] == 0


async def test_query_arguments_are_validated(manager: JobQueueManager) -> None:
    with pytest.raises(InvalidJobError, match="start must be"):
        await manager.get_failed_jobs("email", -1, 10)
    with pytest.raises(InvalidJobError, match="end must be"):
        await manager.get_failed_jobs("email", 0, -2)
    assert await manager.get_failed_jobs("email", 5, 2) == []  # Bull: an empty range
    with pytest.raises(InvalidJobError, match="grace must be"):
        await manager.clean_queue("email", -1, "completed")
    with pytest.raises(InvalidJobError, match="grace must be"):
        await manager.clean_queue("email", 10**15, "completed")
    with pytest.raises(InvalidJobError, match="clean takes a status"):
        await manager.clean_queue("email", 0, "active")
    with pytest.raises(InvalidJobError, match="state must be one of"):
        await manager.get_jobs("email", "finished")


def test_every_raised_error_is_a_pgqueue_error() -> None:
    """Callers catch `PgQueueError` once; the API maps each subclass to one status."""
    raised = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(raised) >= 6
    assert all(issubclass(cls, PgQueueError) for cls in raised)
    assert all(cls.__doc__ for cls in raised), "each error says when it is raised"
