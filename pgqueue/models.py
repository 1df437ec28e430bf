"""The nouns of pgqueue: jobs, their states, and the guide's enums.

A leaf module: it imports nothing from pgqueue, so every layer can use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any


class JobPriority(IntEnum):
    """Bull's priorities: a smaller number runs first."""

    CRITICAL = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4


class QueueName(StrEnum):
    """The eight queues of the platform; any other name a user adds to is a queue too."""

    EMAIL = "email"
    REPORT = "report"
    PIPELINE = "pipeline"
    TEST = "test"
    DEPLOYMENT = "deployment"
    NOTIFICATION = "notification"
    CLEANUP = "cleanup"
    ANALYTICS = "analytics"


class JobState(StrEnum):
    """What a user sees. `delayed` and `paused` are derived: a waiting row whose run time
    is in the future is delayed; a ready row in a paused queue is paused, as in Bull.
    `cancelled` is final: only `retry_job` brings such a job back."""

    WAITING = "waiting"
    DELAYED = "delayed"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    WAITING_CHILDREN = "waiting-children"


class EmailJobType(StrEnum):
    WELCOME = "welcome"
    PASSWORD_RESET = "password-reset"
    PIPELINE_COMPLETE = "pipeline-complete"
    TEST_RESULTS = "test-results"
    DEPLOYMENT_NOTIFICATION = "deployment-notification"
    ALERT = "alert"


class ReportJobType(StrEnum):
    PIPELINE_REPORT = "pipeline-report"
    TEST_COVERAGE = "test-coverage"
    SECURITY_SCAN = "security-scan"
    ANALYTICS = "analytics"
    AUDIT_LOG = "audit-log"


class CleanupJobType(StrEnum):
    EXPIRED_TOKENS = "expired-tokens"
    OLD_LOGS = "old-logs"
    TEMP_FILES = "temp-files"
    OLD_ARTIFACTS = "old-artifacts"


LIFO_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""A LIFO job is stored with its creation time mirrored about this moment, so that a
later one sorts first among ready jobs (`options.lifo_run_at`)."""


def shown_run_at(
    run_at: datetime | None, created_at: datetime | None, opts: dict[str, Any]
) -> datetime | None:
    """The run time a job shows: a LIFO job was ready when it was added, not in the year
    its sort key falls in. A retried LIFO job waits for a real time, shown as it is.
    The option is looked at first: comparing aware datetimes calls both time zones."""
    if opts.get("lifo") and run_at is not None and run_at < LIFO_EPOCH:
        return created_at
    return run_at


def to_ms(moment: datetime | None) -> int | None:
    """Bull reports times as milliseconds since the epoch."""
    return None if moment is None else int(moment.timestamp() * 1000)


@dataclass
class Job:
    """A job as stored. Times are aware datetimes; `timestamp` is creation in ms, as Bull."""

    id: str
    queue: str
    name: str
    data: Any
    opts: dict[str, Any]
    state: JobState
    priority: int
    progress: Any = None
    attempts_made: int = 0
    max_attempts: int = 1
    failed_reason: str | None = None
    stacktrace: list[str] = field(default_factory=list)
    return_value: Any = None
    created_at: datetime | None = None
    processed_at: datetime | None = None
    finished_at: datetime | None = None
    run_at: datetime | None = None
    key: str | None = None
    inserted: bool | None = field(default=None, compare=False, repr=False)
    """From `add_job`/`add_bulk`: True when this call inserted the job, False when its
    `job_id` named a job that already existed; None for a job read back later."""
    cancelled_by: str | None = None
    """Who cancelled the job (`cancel_job`'s `by`); when is `finished_at`."""
    parent_id: str | None = None
    """A flow's child names its parent; the parent waits in `waiting-children`."""
    pending_children: int | None = None

    @property
    def timestamp(self) -> int | None:
        return to_ms(self.created_at)

    @property
    def processed_on(self) -> int | None:
        return to_ms(self.processed_at)

    @property
    def finished_on(self) -> int | None:
        return to_ms(self.finished_at)


_FRESH_PER_JOB: tuple[tuple[str, Callable[[], Any]], ...] = tuple(
    (f.name, f.default_factory) for f in fields(Job) if f.default_factory is not MISSING
)


def job_from(attributes: dict[str, Any]) -> Job:
    """A `Job` with `attributes` as its own (the dict is kept, not copied), plus a new
    object for each attribute whose default is one (a list), never shared between jobs.
    Hot paths build jobs from a copy of a prototype's attributes this way: a third of
    the cost of `Job(...)`."""
    for name, make in _FRESH_PER_JOB:
        attributes[name] = make()
    job: Job = object.__new__(Job)
    job.__dict__ = attributes
    return job
