"""Backpressure's log: under a flood of short jobs claims stop and resume many times a
second, and the log says so once a minute, not each time."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from pgqueue.worker import finisher
from pgqueue.worker.finisher import Finisher


def lines(caplog: pytest.LogCaptureFixture, action: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "action", None) == action]


def test_stops_are_logged_once_a_minute_with_their_count(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="pgqueue")
    clock = [1000.0]
    monkeypatch.setattr(finisher, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    held = Finisher(store=None, limit=4)  # type: ignore[arg-type]  # no writes here

    def one_stop() -> None:
        held.hold(4)
        assert not held.room.is_set()
        held.settle(4)
        assert held.room.is_set()

    one_stop()
    for _ in range(59):  # one a second, for the rest of the minute
        clock[0] += 1.0
        one_stop()
    assert [r.pauses for r in lines(caplog, "claims_paused")] == [1]  # type: ignore[attr-defined]
    assert len(lines(caplog, "claims_resumed")) == 1

    clock[0] += 1.0  # a minute after the first line: this stop and the 59 unlogged ones
    one_stop()
    assert [r.pauses for r in lines(caplog, "claims_paused")] == [1, 60]  # type: ignore[attr-defined]
    assert len(lines(caplog, "claims_resumed")) == 2
