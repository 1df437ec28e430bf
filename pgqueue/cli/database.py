"""`pgqueue db` and `pgqueue migrate`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pgqueue.cli.common import database_url, migrated_database_url
from pgqueue.db import migrate
from pgqueue.db.embedded import start_embedded, stop_embedded
from pgqueue.errors import ConfigurationError


@click.command("db")
@click.option("--stop", is_flag=True, help="Stop the embedded server instead.")
def db_command(stop: bool) -> None:
    """Start the embedded PostgreSQL if needed and print its URL (the URL is the last line)."""
    if os.environ.get("DATABASE_URL"):
        database_url()  # fails with one line if it is not reachable
        click.echo(os.environ["DATABASE_URL"])
        return
    home = Path(os.environ.get("PGQUEUE_HOME", ".pgqueue"))
    if stop:
        click.echo("stopped" if stop_embedded(home) else "not running")
        return
    try:
        click.echo(start_embedded(home, keep_running=True))
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("migrate")
def migrate_command() -> None:
    """Bring pgqueue's tables to the latest revision (alembic upgrade head)."""
    url = migrated_database_url()
    click.echo(f"pgqueue schema at revision {migrate.current_revision(url)}")


COMMANDS = [db_command, migrate_command]
