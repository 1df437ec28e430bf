"""Store operations behind `/metrics` that the manager's stats do not cover (SQL in
`sql/metrics.sql`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pgqueue.store.ops import Op, Row
from pgqueue.store.queries import query


@dataclass
class Timings:
    """Cumulative counts per bound (Prometheus' `le` buckets), for one queue."""

    count: int = 0
    run_sum: float = 0.0
    wait_sum: float = 0.0
    run_le: list[tuple[float, int]] = field(default_factory=list)
    wait_le: list[tuple[float, int]] = field(default_factory=list)


def finished_job_timings(
    queues: Sequence[str], window_seconds: int, bounds: Sequence[float]
) -> Op[dict[str, Timings]]:
    def read(rows: list[Row]) -> dict[str, Timings]:
        found: dict[str, Timings] = {}
        for row in rows:
            timings = found.setdefault(row["queue"], Timings())
            timings.count = int(row["n"])
            timings.run_sum = float(row["run_sum"] or 0.0)
            timings.wait_sum = float(row["wait_sum"] or 0.0)
            timings.run_le.append((float(row["bound"]), int(row["run_le"])))
            timings.wait_le.append((float(row["bound"]), int(row["wait_le"])))
        return found

    return Op(
        query("finished_job_timings"),
        {
            "queues": list(queues),
            "window_seconds": window_seconds,
            "bounds": [float(b) for b in bounds],
        },
        read,
    )


def retrying_jobs() -> Op[dict[str, int]]:
    return Op(query("retrying_jobs"), {}, lambda rows: {r["queue"]: int(r["n"]) for r in rows})
