"""Flows: parents that wait for their children, at any depth, across queues."""

from __future__ import annotations

from typing import Any

import pytest

from pgqueue import JobQueueManager, JobState, RunningJob, SyncJobQueueManager
from pgqueue.errors import InvalidJobError
from pgqueue.registry import Registry
from tests.helpers import RunWorker


async def state_of(manager: JobQueueManager, queue: str, job_id: str) -> JobState | None:
    job = await manager.get_job(queue, job_id)
    return None if job is None else job.state


def registry_for_flows(fail: set[str] | None = None) -> Registry:
    registry = Registry()

    async def leaf(job: RunningJob) -> Any:
        if job.name in (fail or set()):
            raise ValueError(f"{job.name} broke")
        return {"leaf": job.data["n"]}

    async def parent(job: RunningJob) -> Any:
        return await job.children_values()

    def sync_parent(job: RunningJob) -> Any:
        return {"sync": job.children_values()}

    registry.add("test", "*", leaf)
    registry.add("report", "parent", parent)
    registry.add("report", "sync-parent", sync_parent)
    return registry


async def test_a_parent_waits_for_its_children_at_any_depth(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "parent",
            "data": {},
            "children": [
                {"queue": "test", "name": "leaf", "data": {"n": 1}},
                {
                    "queue": "report",
                    "name": "sync-parent",
                    "data": {},
                    "children": [{"queue": "test", "name": "leaf", "data": {"n": 2}}],
                },
            ],
        }
    )
    root = tree["job"]
    [first, middle] = [node["job"] for node in tree["children"]]
    [deep] = [node["job"] for node in tree["children"][1]["children"]]
    assert root.state is JobState.WAITING_CHILDREN and middle.state is JobState.WAITING_CHILDREN
    assert first.state is JobState.WAITING and first.parent_id == root.id
    assert deep.parent_id == middle.id
    stats = await manager.get_queue_stats("report")
    assert stats["waiting-children"] == 2 and stats["waiting"] == 0
    assert await state_of(manager, "report", root.id) is JobState.WAITING_CHILDREN
    assert [j.id for j in await manager.get_job_children("report", root.id)] == [
        first.id,
        middle.id,
    ]
    parent = await manager.get_job_parent("test", deep.id)
    assert parent is not None and parent.id == middle.id

    async with run_worker(registry_for_flows(), {"test": 2, "report": 2}):
        done = await manager.wait_for_job("report", root.id, timeout=30)
    assert done.state is JobState.COMPLETED
    assert done.return_value == {
        first.id: {"leaf": 1},
        middle.id: {"sync": {deep.id: {"leaf": 2}}},
    }
    finished_middle = await manager.get_job("report", middle.id)
    assert finished_middle is not None and finished_middle.state is JobState.COMPLETED


async def test_a_child_failing_for_good_fails_its_parent_naming_it(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "parent",
            "children": [
                {"queue": "test", "name": "fine", "data": {"n": 1}},
                {"queue": "test", "name": "broken", "data": {"n": 2}, "opts": {"attempts": 1}},
            ],
        }
    )
    root, broken = tree["job"], tree["children"][1]["job"]
    async with run_worker(registry_for_flows(fail={"broken"}), {"test": 2, "report": 1}):
        failed = await manager.wait_for_job("report", root.id, timeout=30)
    assert failed.state is JobState.FAILED
    assert failed.failed_reason == f"child test/{broken.id} failed: broken broke"


async def test_fail_parent_on_failure_false_lets_the_parent_go_on(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "parent",
            "children": [
                {"queue": "test", "name": "fine", "data": {"n": 1}},
                {
                    "queue": "test",
                    "name": "broken",
                    "data": {"n": 2},
                    "opts": {"attempts": 1, "failParentOnFailure": False},
                },
            ],
        }
    )
    root, fine = tree["job"], tree["children"][0]["job"]
    async with run_worker(registry_for_flows(fail={"broken"}), {"test": 2, "report": 1}):
        done = await manager.wait_for_job("report", root.id, timeout=30)
    assert done.state is JobState.COMPLETED
    assert done.return_value == {fine.id: {"leaf": 1}}


async def test_cancelling_a_child_fails_the_parent_and_grandparent(
    manager: JobQueueManager,
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "parent",
            "children": [
                {
                    "queue": "report",
                    "name": "parent",
                    "children": [{"queue": "test", "name": "leaf", "data": {"n": 1}}],
                }
            ],
        }
    )
    root, middle = tree["job"], tree["children"][0]["job"]
    leaf = tree["children"][0]["children"][0]["job"]
    await manager.cancel_job("test", leaf.id)
    for job_id in (middle.id, root.id):
        failed = await manager.get_job("report", job_id)
        assert failed is not None and failed.state is JobState.FAILED
    assert (await manager.get_job("report", middle.id)).failed_reason == (  # type: ignore[union-attr]
        f"child test/{leaf.id} was cancelled"
    )
    assert (await manager.get_job("report", root.id)).failed_reason.startswith(  # type: ignore[union-attr]
        f"child report/{middle.id} failed: child test/{leaf.id} was cancelled"
    )


async def test_removing_a_parent_removes_its_pending_children(
    manager: JobQueueManager,
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "parent",
            "children": [
                {"queue": "test", "name": "leaf", "data": {"n": 1}},
                {
                    "queue": "report",
                    "name": "parent",
                    "children": [{"queue": "test", "name": "leaf", "data": {"n": 2}}],
                },
            ],
        }
    )
    unrelated = await manager.add_job("test", "leaf", {"n": 3})
    assert await manager.remove_job("report", tree["job"].id) == tree["job"].id
    assert (await manager.get_queue_stats("test"))["waiting"] == 1
    assert (await manager.get_queue_stats("report"))["waiting-children"] == 0
    assert await manager.get_job("test", unrelated.id) is not None


async def test_removing_a_pending_child_lets_the_parent_run(
    manager: JobQueueManager, run_worker: RunWorker
) -> None:
    tree = await manager.add_flow(
        {
            "queue": "report",
            "name": "parent",
            "children": [{"queue": "test", "name": "leaf", "data": {"n": 1}}],
        }
    )
    await manager.remove_job("test", tree["children"][0]["job"].id)
    assert await state_of(manager, "report", tree["job"].id) is JobState.WAITING
    async with run_worker(registry_for_flows(), {"report": 1}):
        done = await manager.wait_for_job("report", tree["job"].id, timeout=30)
    assert done.return_value == {}


def test_flows_are_validated_whole_before_anything_is_written(
    sync_manager: SyncJobQueueManager,
) -> None:
    bad_trees: list[Any] = [
        [],
        {"queue": "report", "name": "p", "children": "no"},
        {"queue": "report", "name": "p", "children": {}},
        {"queue": "report", "name": "p", "opts": "fast"},
        {"queue": "report", "name": "p", "children": [{"queue": "test", "name": ""}]},
        {"queue": "report", "name": "p", "children": [{"queue": "test", "name": "x", "y": 1}]},
        {"queue": "report", "name": "p", "opts": {"job_id": "k"}},
        {"queue": "report", "name": "p", "opts": {"fail_parent_on_failure": "no"}},
        {"queue": "bad queue", "name": "p"},
    ]
    for tree in bad_trees:
        with pytest.raises(InvalidJobError):
            sync_manager.add_flow(tree)
    assert sync_manager.get_queue_stats("report")["waiting"] == 0
    assert sync_manager.get_queue_stats("test")["waiting"] == 0
    single = sync_manager.add_flow({"queue": "test", "name": "alone", "data": {"n": 1}})
    assert single["job"].state is JobState.WAITING and single["children"] == []
