"""The event loop the long-running commands (`worker`, `run`, `api`, `scheduler`) run on.

A worker's own work per job is mostly event-loop bookkeeping: a task, two callbacks,
a selector pass. uvloop does that bookkeeping in C, which takes about a seventh off the
worker's CPU per job (see docs/benchmarks.md), so it is used wherever it is installed
(it is a dependency on Linux and macOS). `PGQUEUE_EVENT_LOOP=asyncio` keeps the
standard loop, should a processor's library not get on with uvloop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pgqueue.errors import ConfigurationError

T = TypeVar("T")

CHOICES = ("auto", "asyncio", "uvloop")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when chosen (or, by default, when installed); None: asyncio's."""
    choice = os.environ.get("PGQUEUE_EVENT_LOOP", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ConfigurationError(
            f"PGQUEUE_EVENT_LOOP must be one of {', '.join(CHOICES)}, got {choice!r}"
        )
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigurationError(
                "PGQUEUE_EVENT_LOOP=uvloop, but uvloop is not installed"
            ) from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], factory: Callable[[], asyncio.AbstractEventLoop] | None) -> T:
    """`asyncio.run` on the loop `loop_factory` chose."""
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
