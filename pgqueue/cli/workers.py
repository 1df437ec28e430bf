"""`pgqueue workers`: the worker processes running now."""

from __future__ import annotations

import click

from pgqueue.api.views import ms as views_ms
from pgqueue.cli.output import echo_json, echo_table, json_option, manager, one_shot, when


@click.command("workers")
@json_option
@one_shot
def workers_command(as_json: bool) -> None:
    """Live workers: host, pid, queues, jobs running, last heartbeat."""
    with manager() as m:
        found = m.get_workers()
    if as_json:
        echo_json(
            [
                {
                    "id": str(w["id"]),
                    "hostname": w["hostname"],
                    "pid": w["pid"],
                    "queues": list(w["queues"]),
                    "running": w["running"],
                    "startedAt": views_ms(w["started_at"]),
                    "heartbeatAt": views_ms(w["heartbeat_at"]),
                }
                for w in found
            ]
        )
        return
    echo_table(
        ["HOST", "PID", "QUEUES", "RUNNING", "STARTED", "HEARTBEAT"],
        [
            [
                w["hostname"],
                w["pid"],
                ",".join(w["queues"]),
                w["running"],
                when(w["started_at"]),
                when(w["heartbeat_at"]),
            ]
            for w in found
        ],
    )


COMMANDS = [workers_command]
