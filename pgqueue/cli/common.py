"""What every subcommand shares: logging options, the database, the user's modules."""

from __future__ import annotations

from collections.abc import Iterable

import click

from pgqueue import logs
from pgqueue.config import Settings
from pgqueue.db import migrate
from pgqueue.db.connect import resolve_database_url
from pgqueue.errors import ConfigurationError
from pgqueue.imports import import_modules
from pgqueue.processors import register_builtins
from pgqueue.registry import Registry, default_registry


@click.group()
@click.option("--log-level", default="INFO", show_default=True, envvar="PGQUEUE_LOG_LEVEL")
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default="console",
    show_default=True,
    envvar="PGQUEUE_LOG_FORMAT",
)
def main_group(log_level: str, log_format: str) -> None:
    """pgqueue: jobs in PostgreSQL, workers, cron, and an admin API."""
    logs.configure(log_level, log_format)


import_option = click.option(
    "--import",
    "imports",
    multiple=True,
    metavar="MOD",
    help="Module that registers processors (repeatable; also PGQUEUE_IMPORTS=a,b).",
)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


def database_url() -> str:
    try:
        return resolve_database_url()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


def migrated_database_url() -> str:
    url = database_url()
    migrate.upgrade(url)
    return url


def load_processors(imports: Iterable[str], settings: Settings) -> Registry:
    """Built-ins first, so a user's processor for the same job replaces them."""
    try:
        registry = Registry()
        register_builtins(registry)
        import_modules([*settings.imports, *imports])
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    merged = registry.copy()
    for registration in default_registry.registrations():
        merged.add(registration.queue, registration.name, registration.fn, registration.concurrency)
    return merged
