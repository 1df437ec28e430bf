"""The guide's queue health check, shown on the overview instead of logged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pgqueue.types import QueueStats


@dataclass(frozen=True)
class HealthWarning:
    queue: str
    text: str


def health_warnings(
    stats: Mapping[str, QueueStats], max_failed: int, max_waiting: int
) -> list[HealthWarning]:
    """As in the guide: too many failed jobs is a high failure rate, too many waiting a
    queue backing up."""
    found: list[HealthWarning] = []
    for queue, counts in stats.items():
        if counts["failed"] > max_failed:
            found.append(
                HealthWarning(
                    queue, f"High failure rate: {counts['failed']} failed (over {max_failed})"
                )
            )
        if counts["waiting"] > max_waiting:
            found.append(
                HealthWarning(
                    queue, f"Queue backing up: {counts['waiting']} waiting (over {max_waiting})"
                )
            )
    return found
