"""The operator commands for cancel, wait, limits and LIFO."""

from __future__ import annotations

import json

from pgqueue import JobState, SyncJobQueueManager
from tests.cli_support import Cli, failed, ok


def test_jobs_cancel_and_wait(cli: Cli, sync_manager: SyncJobQueueManager) -> None:
    first = sync_manager.add_job("email", "welcome", {})
    second = sync_manager.add_job("email", "welcome", {})
    out = ok(cli("jobs", "cancel", "email", first.id, second.id, "--by", "oncall"))
    assert out.splitlines() == [f"cancelled job {first.id}", f"cancelled job {second.id}"]
    found = sync_manager.get_job("email", first.id)
    assert found is not None and found.state is JobState.CANCELLED
    assert found.cancelled_by == "oncall"
    assert "cancelled by oncall" in ok(cli("jobs", "show", "email", first.id))
    line = failed(cli("jobs", "cancel", "email", first.id))
    assert "only waiting, delayed or active jobs can be cancelled" in line
    waited = cli("jobs", "wait", "email", first.id, "--timeout", "5s")
    assert waited.exit_code == 1 and waited.stdout.strip() == "cancelled by oncall"
    as_json = cli("jobs", "wait", "email", second.id, "--json")
    assert json.loads(as_json.stdout)["state"] == "cancelled"
    pending = sync_manager.add_job("email", "welcome", {})
    assert "did not finish within" in failed(
        cli("jobs", "wait", "email", pending.id, "--timeout", "200ms")
    )


def test_queues_limits_rate_limit_and_concurrency(
    cli: Cli, sync_manager: SyncJobQueueManager
) -> None:
    assert "at most 5 jobs per 2000 ms" in ok(
        cli("queues", "rate-limit", "report", "5", "--per", "2s")
    )
    assert "at most 3 jobs of report" in ok(cli("queues", "concurrency", "report", "3"))
    table = ok(cli("queues", "limits"))
    assert "report" in table and "5/2000ms" in table
    [listed] = json.loads(ok(cli("queues", "limits", "--json")))
    assert listed["rateLimit"] == {"max": 5, "duration": 2000}
    assert listed["globalConcurrency"] == 3
    usage = cli("queues", "rate-limit", "report")
    assert usage.exit_code == 2
    assert cli("queues", "concurrency", "report", "0").exit_code == 2
    ok(cli("queues", "rate-limit", "report", "--remove"))
    ok(cli("queues", "concurrency", "report", "--remove"))
    assert sync_manager.get_queue_limits() == {}


def test_enqueue_lifo(cli: Cli, sync_manager: SyncJobQueueManager) -> None:
    ok(cli("enqueue", "test", "first"))
    ok(cli("enqueue", "test", "urgent", "--lifo"))
    job = sync_manager.get_jobs("test", "waiting")
    assert {j.name: j.opts.get("lifo", False) for j in job} == {"first": False, "urgent": True}


def test_jobs_show_names_a_flows_parent_and_children(
    cli: Cli, sync_manager: SyncJobQueueManager
) -> None:
    tree = sync_manager.add_flow(
        {"queue": "report", "name": "p", "children": [{"queue": "test", "name": "c"}]}
    )
    parent, child = tree["job"], tree["children"][0]["job"]
    shown = ok(cli("jobs", "show", "report", parent.id))
    assert f"children  test {child.id} (waiting)" in shown
    assert f"parent    report {parent.id} (waiting-children)" in ok(
        cli("jobs", "show", "test", child.id)
    )
