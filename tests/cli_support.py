"""What the CLI tests share: the commands run in-process against the test's database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pgqueue.cli.common import main_group

Cli = Any


@pytest.fixture
def cli(db_url: str) -> Iterator[Cli]:
    """`cli("jobs", "list", "email")` runs the command in-process against the test's
    database; the root logger the command configures is put back afterwards."""
    import pgqueue.cli  # noqa: F401  (registers every subcommand on main_group)

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(
            main_group,
            list(args),
            input=input,
            env={"DATABASE_URL": db_url},
            catch_exceptions=True,
        )

    yield invoke
    root.handlers[:], root.level = handlers, level


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def failed(result: Result) -> str:
    """The command failed with exit 1 and said why in one line on stderr."""
    assert result.exit_code == 1, (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]
