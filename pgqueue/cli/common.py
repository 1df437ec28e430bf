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

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False)
LOG_FORMATS = click.Choice(["console", "json"])


@click.group()
@click.version_option(package_name="pgqueue", prog_name="pgqueue")
@click.option(
    "--log-level", type=LOG_LEVELS, default="INFO", show_default=True, envvar="PGQUEUE_LOG_LEVEL"
)
@click.option(
    "--log-format",
    type=LOG_FORMATS,
    default="console",
    show_default=True,
    envvar="PGQUEUE_LOG_FORMAT",
)
def main_group(log_level: str, log_format: str) -> None:
    """pgqueue: jobs in PostgreSQL, workers, cron, and an admin API."""
    logs.configure(log_level, log_format)


def _relog(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """`pgqueue worker --log-level DEBUG` means the same as `pgqueue --log-level DEBUG
    worker`: the later spelling wins and logging is configured again."""
    if value is None or param.name is None:
        return
    root = ctx.find_root().params
    root[param.name] = value
    logs.configure(root["log_level"], root["log_format"])


def accept_logging_options(command: click.Command) -> None:
    """Give `command` (and every subcommand of a group) its own `--log-level` and
    `--log-format`, so they may follow the subcommand."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_logging_options(sub)
        return
    command.params.extend(
        [
            click.Option(
                ["--log-level"],
                type=LOG_LEVELS,
                expose_value=False,
                callback=_relog,
                help="Same as before the subcommand.",
            ),
            click.Option(
                ["--log-format"],
                type=LOG_FORMATS,
                expose_value=False,
                callback=_relog,
                help="Same as before the subcommand.",
            ),
        ]
    )


import_option = click.option(
    "--import",
    "-i",
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
