"""Per-minute job metrics for the charts (SQL in `sql/charts.sql`, schema in 0010)."""

from __future__ import annotations

from datetime import datetime

import orjson

from pgqueue.store.ops import Op, Row
from pgqueue.store.queries import query
from pgqueue.types import MinuteMetrics

ALL_QUEUES = "*"
"""The series of every queue together (no queue may be named so)."""
KEEP_SECONDS = 7 * 86_400


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def minute_metrics(queue: str, minutes: int) -> Op[list[MinuteMetrics]]:
    def read(rows: list[Row]) -> list[MinuteMetrics]:
        return [
            MinuteMetrics(
                minute=row["minute"],
                completed=int(row["completed"]),
                failed=int(row["failed"]),
                wait_median_ms=_number(row["wait_median_ms"]),
                run_median_ms=_number(row["run_median_ms"]),
            )
            for row in rows
        ]

    return Op(query("minute_metrics"), {"queue": queue, "minutes": minutes}, read)


def _float_array(values: list[float]) -> str:
    """An array literal: a second's worth of times is thousands of numbers, which
    psycopg would adapt one by one. orjson writes each as the same shortest text that
    reads back exactly as `repr` does, some twenty times faster (it was 3 % of a
    draining worker's CPU); its brackets become the literal's braces."""
    return "{" + orjson.dumps(values)[1:-1].decode() + "}"


def add_completed_minute(
    queue: str, minute: datetime, completed: int, wait_ms: list[float], run_ms: list[float]
) -> Op[None]:
    return Op(
        query("add_completed_minute"),
        {
            "queue": queue,
            "minute": minute,
            "completed": completed,
            "wait_ms": _float_array(wait_ms),
            "run_ms": _float_array(run_ms),
        },
        lambda rows: None,
    )


def fold_minutes(limit: int) -> Op[int]:
    """Fold closed minutes' deltas into per-minute rows; returns how many rows it wrote."""
    return Op(query("fold_minutes"), {"limit": limit}, len)


def prune_minute_metrics(limit: int) -> Op[int]:
    return Op(query("prune_minute_metrics"), {"keep_seconds": KEEP_SECONDS, "limit": limit}, len)
