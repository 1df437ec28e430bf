"""What the operator commands share: one manager per command, errors as one line, and
output as a table for people or JSON for scripts."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import click
import psycopg
import psycopg_pool

from pgqueue.cli.common import database_url
from pgqueue.errors import PgQueueError
from pgqueue.manager import SyncJobQueueManager

P = ParamSpec("P")
R = TypeVar("R")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def one_shot(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors an operator can cause or meet into one line and exit status 1;
    at `--log-level DEBUG` the traceback is shown instead."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (PgQueueError, psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            raise click.ClickException(_one_line(exc)) from exc

    return wrapper


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return "pgqueue's tables are missing in this database; run `pgqueue migrate` first"
    if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot reach the database: {first}"
    return " ".join(str(exc).split()) or type(exc).__name__


@contextmanager
def manager() -> Iterator[SyncJobQueueManager]:
    """A small manager for one command; the pool opens on first use."""
    with SyncJobQueueManager(database_url(), pool_size=2) as found:
        yield found


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def when(value: datetime | None) -> str:
    """A time for people: UTC, to the second."""
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns as wide as their widest cell; the last column is never padded."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*padded, row[-1]]).rstrip())
