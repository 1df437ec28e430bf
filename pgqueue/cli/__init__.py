"""The `pgqueue` command. Each subcommand lives in its own module and wires layers
together; none holds logic of its own."""

from __future__ import annotations

import click

from pgqueue.cli import (
    api,
    database,
    enqueue,
    jobs,
    queues,
    scheduler,
    schedules,
    stats,
    token,
    worker,
    workers,
)
from pgqueue.cli.common import accept_logging_options, main_group

for module in (
    database,
    stats,
    worker,
    scheduler,
    api,
    token,
    jobs,
    queues,
    enqueue,
    schedules,
    workers,
):
    for command in module.COMMANDS:
        accept_logging_options(command)
        main_group.add_command(command)


def main() -> None:
    main_group(auto_envvar_prefix="PGQUEUE")


__all__ = ["click", "main"]
