"""Store operations for repeating jobs (SQL in `sql/schedules.sql`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from pgqueue.store.ops import Op, Row
from pgqueue.store.queries import query


@dataclass(frozen=True)
class ScheduleRow:
    """One schedule ready to store: validated, JSON encoded, its key decided."""

    key: str
    queue: str
    name: str
    cron: str | None
    every_ms: int | None
    tz: str
    data: str
    opts: str
    limit_count: int | None
    start_at: datetime | None
    end_at: datetime | None


def upsert_schedule(row: ScheduleRow) -> Op[str]:
    return Op(query("upsert_schedule"), asdict(row), lambda rows: row.key)


def list_schedules() -> Op[list[Row]]:
    return Op(query("list_schedules"), {}, lambda rows: rows)


def remove_schedule(key: str) -> Op[bool]:
    return Op(query("remove_schedule"), {"key": key}, bool)


def claim_slot(
    key: str, slot: datetime, cron: str | None, every_ms: int | None, tz: str
) -> Op[Row | None]:
    """The schedule's row if this call won `slot`, else None (fired elsewhere, removed,
    changed, or done)."""
    return Op(
        query("claim_slot"),
        {"key": key, "slot": slot, "cron": cron, "every_ms": every_ms, "tz": tz},
        lambda rows: rows[0] if rows else None,
    )
