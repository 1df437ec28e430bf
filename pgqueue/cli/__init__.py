"""The `pgqueue` command. Each subcommand lives in its own module and wires layers
together; none holds logic of its own."""

from __future__ import annotations

import click

from pgqueue.cli import api, database, scheduler, stats, token, worker
from pgqueue.cli.common import main_group

for module in (database, stats, worker, scheduler, api, token):
    for command in module.COMMANDS:
        main_group.add_command(command)


def main() -> None:
    main_group(auto_envvar_prefix="PGQUEUE")


__all__ = ["click", "main"]
