"""What every subcommand shares: logging options, the database, the user's modules."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable

import click

from pgqueue import logs
from pgqueue.config import Settings
from pgqueue.db import migrate
from pgqueue.db.availability import (
    check_reachable,
    is_unavailable,
    unavailable_error,
    wait_for_database,
)
from pgqueue.db.connect import resolve_database_url
from pgqueue.db.urls import libpq_url
from pgqueue.errors import ConfigurationError, DatabaseUnavailableError
from pgqueue.imports import import_modules
from pgqueue.processors import register_builtins
from pgqueue.registry import Registry, default_registry

LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False)
LOG_FORMATS = click.Choice(["console", "json"])


class Group(click.Group):
    """Turns "the database is not there" into one line and exit 1, wherever it is
    raised; the traceback only at `--log-level DEBUG`."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not is_unavailable(exc) or logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            if isinstance(exc, DatabaseUnavailableError):
                raise click.ClickException(str(exc)) from exc
            url = os.environ.get("DATABASE_URL") or "postgresql:///?host=embedded"
            raise click.ClickException(str(unavailable_error(libpq_url(url), exc))) from exc


@click.group(cls=Group)
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
    """For one-shot commands: the database, tried once, or one line saying why not."""
    try:
        url = resolve_database_url()
        check_reachable(url)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    return url


def migrated_database_url() -> str:
    url = database_url()
    settings = load_settings()
    migrate.upgrade(libpq_url(settings.direct_url) if settings.direct_url else url)
    return url


async def prepare_database(settings: Settings, stop: asyncio.Event) -> str | None:
    """For long-running commands: wait up to `PGQUEUE_CONNECT_TIMEOUT` for the database,
    then migrate (through the direct URL when one is set). None when `stop` came first.

    A server that goes away again mid-migration (a restart in progress) is waited for
    again, within the same deadline."""
    try:
        url = await asyncio.to_thread(resolve_database_url)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    target = libpq_url(settings.direct_url) if settings.direct_url else url
    deadline = time.monotonic() + settings.connect_timeout
    while True:
        try:
            if not await wait_for_database(
                target, settings.connect_timeout, stop, deadline=deadline
            ):
                return None
            await asyncio.to_thread(migrate.upgrade, target)
            return url
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            if isinstance(exc, DatabaseUnavailableError):
                raise click.ClickException(str(exc)) from exc
            if time.monotonic() >= deadline:
                raise click.ClickException(str(unavailable_error(target, exc))) from exc


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
