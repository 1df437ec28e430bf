"""The long-running commands' event loop: uvloop where installed, asyncio on request,
and one line for a value that is neither."""

from __future__ import annotations

import asyncio

import pytest
import uvloop
from click.testing import CliRunner

from pgqueue import eventloop
from pgqueue.errors import ConfigurationError


def loop_type(monkeypatch: pytest.MonkeyPatch, choice: str | None) -> type:
    if choice is None:
        monkeypatch.delenv("PGQUEUE_EVENT_LOOP", raising=False)
    else:
        monkeypatch.setenv("PGQUEUE_EVENT_LOOP", choice)

    async def which() -> type:
        return type(asyncio.get_running_loop())

    return eventloop.run(which(), eventloop.loop_factory())


def test_uvloop_by_default_and_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    assert issubclass(loop_type(monkeypatch, None), uvloop.Loop)
    assert issubclass(loop_type(monkeypatch, "uvloop"), uvloop.Loop)
    assert not issubclass(loop_type(monkeypatch, "asyncio"), uvloop.Loop)
    assert not issubclass(loop_type(monkeypatch, " Asyncio "), uvloop.Loop)


def test_an_unknown_loop_is_one_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGQUEUE_EVENT_LOOP", "trio")
    with pytest.raises(ConfigurationError, match="auto, asyncio, uvloop"):
        eventloop.loop_factory()

    import pgqueue.cli  # noqa: F401  (registers every subcommand)
    from pgqueue.cli.common import main_group

    result = CliRunner().invoke(
        main_group, ["worker", "--queue", "email"], env={"PGQUEUE_EVENT_LOOP": "trio"}
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Error: PGQUEUE_EVENT_LOOP must be one of auto, asyncio, uvloop, got 'trio'"
    )
