"""Repeating jobs: what both managers and the scheduler share, none of it doing I/O.

A schedule is identified by its key: the caller's `key=`, else one derived from queue,
name, timing (cron or every) and time zone, so adding the same repeating job again
updates it instead of adding a second one (as Bull's repeat key does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pgqueue.config import Settings
from pgqueue.errors import InvalidJobError, JobNotFoundError
from pgqueue.manager import cron as cronlib
from pgqueue.models import CleanupJobType, QueueName
from pgqueue.options import JobSpec, build_spec, encode_json
from pgqueue.store import schedule_ops
from pgqueue.store.ops import Op, Row
from pgqueue.store.schedule_ops import ScheduleRow

MAX_KEY_LENGTH = 200
MAX_EVERY_MS = 10 * 365 * 86_400_000

# The run time of a fired job is its slot, and its job_id is derived from the slot.
_SLOT_OPTIONS = {"delay", "run_at", "runAt", "job_id", "jobId"}

DAILY_CLEANUP: tuple[tuple[CleanupJobType, str], ...] = (
    (CleanupJobType.EXPIRED_TOKENS, "0 2 * * *"),
    (CleanupJobType.OLD_LOGS, "0 3 * * *"),
    (CleanupJobType.TEMP_FILES, "0 4 * * *"),
    (CleanupJobType.OLD_ARTIFACTS, "0 4 * * 0"),
)
"""The guide's `scheduleDailyCleanup`: cleanup job type and cron, in the `cleanup` queue."""

DAILY_CLEANUP_QUEUE = QueueName.CLEANUP.value


def _moment(value: object, what: str, tz: Any) -> datetime | None:
    """A naive datetime is read in the schedule's time zone, as its cron is."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidJobError(f"{what} must be a datetime, got {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _positive(value: object, what: str, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidJobError(
            f"{what} must be a whole number between 1 and {maximum}, got {value!r}"
        )
    return value


def _key(value: object, identity: list[Any]) -> str:
    if value is None:
        digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()
        return digest[:24]
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY_LENGTH:
        raise InvalidJobError(
            f"key must be a non-empty string of at most {MAX_KEY_LENGTH}, got {value!r}"
        )
    return value


def build_schedule(
    settings: Settings,
    queue: str,
    name: str,
    data: Any,
    cron: str | None,
    *,
    tz: str,
    every: int | None,
    limit: int | None,
    start_date: datetime | None,
    end_date: datetime | None,
    key: str | None,
    options: Mapping[str, Any],
) -> ScheduleRow:
    """Validate a repeating job completely, before anything is written."""
    slot_options = _SLOT_OPTIONS & set(options)
    if slot_options:
        raise InvalidJobError(
            f"a repeating job runs at its slot; it does not take {sorted(slot_options)}"
        )
    spec = build_spec(queue, name, data, options, settings.max_payload_bytes)
    zone = cronlib.zone(tz)
    every_ms = _positive(every, "every (ms)", MAX_EVERY_MS)
    if (cron is None) == (every_ms is None):
        raise InvalidJobError("a repeating job needs exactly one of cron or every (ms)")
    start = _moment(start_date, "start_date", zone)
    end = _moment(end_date, "end_date", zone)
    if start is not None and end is not None and end <= start:
        raise InvalidJobError(f"end_date {end} is not after start_date {start}")
    if cron is not None:
        if not isinstance(cron, str):
            raise InvalidJobError(f"cron must be a string, got {cron!r}")
        cron = " ".join(cron.split())
        cronlib.cron_trigger(cron, zone, start, end)
    return ScheduleRow(
        key=_key(key, [queue, name, cron, every_ms, tz]),
        queue=queue,
        name=name,
        cron=cron,
        every_ms=every_ms,
        tz=tz,
        data=spec.data_json,
        opts=encode_json(dict(options), "job options"),
        limit_count=_positive(limit, "limit", 2**31 - 1),
        start_at=start,
        end_at=end,
    )


def trigger(row: Row) -> Any:
    """The APScheduler trigger of a stored schedule."""
    if row["every_ms"] is not None:
        return cronlib.every_trigger(row["every_ms"], row["start_at"], row["end_at"])
    return cronlib.cron_trigger(
        row["cron"], cronlib.zone(row["tz"]), row["start_at"], row["end_at"]
    )


def exhausted(row: Row) -> bool:
    return row["limit_count"] is not None and row["fired_count"] >= row["limit_count"]


def next_run(row: Row, now: datetime | None = None) -> datetime | None:
    """The next slot still to fire, None once the limit or the end date is reached."""
    if exhausted(row):
        return None
    now = now or datetime.now(UTC)
    after = max(now, row["fired_through"] + timedelta(microseconds=1))
    found: datetime | None = trigger(row).get_next_fire_time(None, after)
    return found


def describe(row: Row, now: datetime | None = None) -> dict[str, Any]:
    """A schedule as `get_repeating_jobs` lists it."""
    return {
        "key": row["key"],
        "queue": row["queue"],
        "name": row["name"],
        "cron": row["cron"],
        "tz": row["tz"],
        "every": row["every_ms"],
        "next_run": next_run(row, now),
        "last_run": row["last_fired_at"],
        "count": row["fired_count"],
        "limit": row["limit_count"],
        "start_date": row["start_at"],
        "end_date": row["end_at"],
        "data": row["data"],
        "opts": row["opts"],
    }


def slot_job_id(key: str, slot: datetime) -> str:
    """The job_id of the job a slot fires: a second fire of the slot finds this job."""
    return f"repeat:{key}:{(slot - cronlib.EPOCH) // timedelta(milliseconds=1)}"


def fire_spec(settings: Settings, row: Row, slot: datetime) -> JobSpec:
    """The job a claimed slot adds, through the same validation as `add_job`."""
    options = {**row["opts"], "run_at": slot, "job_id": slot_job_id(row["key"], slot)}
    return build_spec(row["queue"], row["name"], row["data"], options, settings.max_payload_bytes)


# --- the operations the managers run ---------------------------------------------------


def add(
    settings: Settings, queue: str, name: str, data: Any, cron: str | None, **kw: Any
) -> Op[str]:
    """Upsert a schedule; the operation returns its key."""
    return schedule_ops.upsert_schedule(build_schedule(settings, queue, name, data, cron, **kw))


def listing() -> Op[list[dict[str, Any]]]:
    op = schedule_ops.list_schedules()
    return replace(op, read=lambda rows: [describe(r) for r in op.read(rows)])


def remove(key: object) -> Op[None]:
    """Delete a schedule; the operation raises `JobNotFoundError` when there is none."""
    if not isinstance(key, str) or not key:
        raise InvalidJobError(f"schedule key must be a non-empty string, got {key!r}")
    op = schedule_ops.remove_schedule(key)

    def read(rows: list[Row]) -> None:
        if not op.read(rows):
            raise JobNotFoundError(f"no repeating job has key {key!r}")

    return Op(op.sql, op.params, read)
