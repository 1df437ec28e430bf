"""The per-minute metrics of the jobs a worker completes, gathered in memory.

Counting in the completion statement cost the database about a twentieth of its time
per job on a plain queue: an aggregate and a row per batch, on every batch. The worker
already knows each job's queue, ready time and start time, and the completion statement
returns its own time, so the worker keeps the numbers and its finisher sends them once
a second as one row per (queue, minute) (`pgqueue_minute_deltas`, see migration 0010).
Failures stay counted where they are written (`fail_job`): they are rare, and often
final. A worker killed between sends loses at most a second of its counts, never a job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pgqueue.models import Job

_MS = timedelta(milliseconds=1)


@dataclass
class Minute:
    completed: int = 0
    wait_ms: list[float] = field(default_factory=list)
    run_ms: list[float] = field(default_factory=list)


class MinuteCounts:
    def __init__(self) -> None:
        self._minutes: dict[tuple[str, datetime], Minute] = {}

    def __bool__(self) -> bool:
        return bool(self._minutes)

    def completed(self, at: datetime, jobs: Iterable[Job]) -> None:
        """`jobs` were recorded completed at `at` (the database's clock, as their ready
        and start times are). Jobs of one batch share their minute, and mostly their
        queue; the jobs of one claim share their start time too, so a run time is worked
        out once per claim, and a job costs an append or two."""
        minute_of = at.replace(second=0, microsecond=0)
        queue: str | None = None
        minute = Minute()
        last_started: datetime | None = None
        run_ms = 0.0
        for job in jobs:
            if job.queue != queue:
                queue = job.queue
                minute = self._minutes.setdefault((queue, minute_of), Minute())
            minute.completed += 1
            started = job.processed_at
            if started is not None:
                if job.run_at is not None:
                    wait_ms = (started - job.run_at) / _MS
                    minute.wait_ms.append(wait_ms if wait_ms > 0.0 else 0.0)
                if started != last_started:
                    last_started = started
                    run_ms = max(0.0, (at - started) / _MS)
                minute.run_ms.append(run_ms)

    def take(self) -> dict[tuple[str, datetime], Minute]:
        taken, self._minutes = self._minutes, {}
        return taken

    def put_back(self, key: tuple[str, datetime], minute: Minute) -> None:
        """A send that failed: its counts go out with the next one."""
        mine = self._minutes.setdefault(key, Minute())
        mine.completed += minute.completed
        mine.wait_ms.extend(minute.wait_ms)
        mine.run_ms.extend(minute.run_ms)
