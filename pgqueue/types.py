"""Typed shapes of what callers pass and get back: job options and queue stats.

Options are `TypedDict`s unpacked into `**options`, so a misspelt option (`atempts=3`)
is a type error in the caller's editor and in mypy, not only a runtime `InvalidJobError`.
Three variants exist because some methods take an option as a parameter of their own
(the helpers' positional `priority`; `add_delayed_job`'s `delay`), and a keyword may not
be both. A leaf module: it imports nothing from pgqueue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, TypedDict, get_args


class Backoff(TypedDict, total=False):
    """Wait between attempts: `delay` ms, doubled after each failure when exponential."""

    type: Literal["exponential", "fixed"]
    delay: int


class Retention(TypedDict, total=False):
    """Keep at most `count` finished jobs, none older than `age` seconds."""

    age: int
    count: int


class JobOptionsWithoutTiming(TypedDict, total=False):
    """Every option but when the job runs: what repeating and delayed jobs take."""

    priority: int
    attempts: int
    backoff: int | Backoff
    job_id: str | int
    remove_on_complete: bool | int | Retention
    remove_on_fail: bool | int | Retention
    timeout: int


class JobOptionsWithoutPriority(TypedDict, total=False):
    """Every option but priority: what the guide's helpers take beside their own."""

    attempts: int
    backoff: int | Backoff
    job_id: str | int
    remove_on_complete: bool | int | Retention
    remove_on_fail: bool | int | Retention
    timeout: int
    delay: int
    run_at: datetime
    lifo: bool


class JobOptions(JobOptionsWithoutTiming, total=False):
    """The options of `add_job`: Bull's, in Python spelling. `delay` and `timeout` are ms."""

    delay: int
    run_at: datetime
    lifo: bool
    """Run before the jobs already waiting at this priority (not with delay or run_at)."""


QueueStats = TypedDict(
    "QueueStats",
    {
        "waiting": int,
        "active": int,
        "completed": int,
        "failed": int,
        "delayed": int,
        "paused": int,
        "cancelled": int,
        "waiting-children": int,
    },
)
"""A queue's jobs by state, as `get_queue_stats` returns them (BullMQ's key names)."""


StatField = Literal[
    "waiting",
    "active",
    "completed",
    "failed",
    "delayed",
    "paused",
    "cancelled",
    "waiting-children",
]
STAT_FIELDS: Final[tuple[StatField, ...]] = get_args(StatField)
"""The keys of `QueueStats`, in the order tables show them."""


class MinuteMetrics(TypedDict):
    """One minute of a queue's (or every queue's) work: jobs completed and failed in it,
    and the median wait (ready to started) and run time in ms of the jobs that finished
    in it (None when none did)."""

    minute: datetime
    completed: int
    failed: int
    wait_median_ms: float | None
    run_median_ms: float | None
