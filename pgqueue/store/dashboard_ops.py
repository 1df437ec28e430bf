"""Store operations for the dashboard's overview figures (SQL in `sql/dashboard.sql`)."""

from __future__ import annotations

from dataclasses import dataclass

from pgqueue.errors import InvalidJobError
from pgqueue.models import Job
from pgqueue.store.notify import CHANNEL
from pgqueue.store.ops import Op, Row, row_to_job
from pgqueue.store.queries import query


@dataclass(frozen=True)
class QueueActivity:
    """One queue's recent activity: `oldest_waiting_seconds` is None when nothing waits."""

    oldest_waiting_seconds: float | None
    completed_recently: int
    failed_recently: int

    @property
    def failure_rate(self) -> float | None:
        """Failed share of the jobs finished in the window; None when none finished."""
        finished = self.completed_recently + self.failed_recently
        return self.failed_recently / finished if finished else None


IDLE = QueueActivity(None, 0, 0)


def queue_activity(window_seconds: int) -> Op[dict[str, QueueActivity]]:
    def read(rows: list[Row]) -> dict[str, QueueActivity]:
        return {
            r["queue"]: QueueActivity(
                r["oldest_waiting_seconds"],
                int(r["completed_recently"]),
                int(r["failed_recently"]),
            )
            for r in rows
        }

    return Op(query("queue_activity"), {"window_seconds": window_seconds}, read)


def search_jobs(queue: str, text: str, offset: int, limit: int) -> Op[list[Job]]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidJobError(f"search text must be a non-empty string, got {text!r}")
    text = text.strip()
    numeric = int(text) if text.isdigit() and len(text) < 19 else None
    return Op(
        query("search_jobs"),
        {"queue": queue, "id": numeric, "text": text, "offset": offset, "limit": limit},
        lambda rows: [row_to_job(r) for r in rows],
    )


def _count(rows: list[Row]) -> int:
    return int(rows[0]["n"])


def retry_failed_jobs(queue: str) -> Op[int]:
    return Op(query("retry_failed_jobs"), {"channel": CHANNEL, "queue": queue}, _count)


def promote_delayed_jobs(queue: str) -> Op[int]:
    return Op(query("promote_delayed_jobs"), {"channel": CHANNEL, "queue": queue}, _count)
