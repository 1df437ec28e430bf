"""Jobs, schedules and audit entries as the JSON the guide's clients read: camelCase
fields, ids as strings, times in milliseconds since the epoch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pgqueue.models import Job, to_ms
from pgqueue.options import camel_case


def ms(value: object) -> object:
    return to_ms(value) if isinstance(value, datetime) else value


def job(found: Job) -> dict[str, Any]:
    return {
        "id": found.id,
        "queue": found.queue,
        "name": found.name,
        "data": found.data,
        "opts": {camel_case(k): v for k, v in found.opts.items()},
        "state": found.state.value,
        "priority": found.priority,
        "progress": found.progress,
        "attemptsMade": found.attempts_made,
        "maxAttempts": found.max_attempts,
        "failedReason": found.failed_reason,
        "stacktrace": found.stacktrace,
        "returnValue": found.return_value,
        "timestamp": found.timestamp,
        "processedOn": found.processed_on,
        "finishedOn": found.finished_on,
        "runAt": to_ms(found.run_at),
        "cancelledBy": found.cancelled_by,
        "parentId": found.parent_id,
    }


def log_line(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"timestamp": ms(row["created_at"]), "message": row["message"]}


def job_detail(found: Job, logs: list[dict[str, Any]]) -> dict[str, Any]:
    return {**job(found), "logs": [log_line(row) for row in logs]}


def schedule(entry: Mapping[str, Any]) -> dict[str, Any]:
    """`get_repeating_jobs()` entries with camelCase keys and times in ms."""
    return {camel_case(k): ms(v) for k, v in entry.items()}


def audit_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "timestamp": ms(row["created_at"]),
        "actor": row["actor"],
        "role": row["role"],
        "action": row["action"],
        "queue": row["queue"],
        "jobId": row["job_id"],
        "outcome": row["outcome"],
        "detail": row["detail"],
    }
