"""`/metrics` in Prometheus' text format, read from the database at scrape time.

Workers run in other processes, so the API cannot count their completions in memory:
queue figures are gauges read from the jobs table when Prometheus asks, and the
histograms describe the jobs that finished within the last `WINDOW_SECONDS` (a gauge
histogram: query it with `histogram_quantile` directly, not over `rate()`). Only the
admin action counter is a true counter, of this process. docs/api.md lists each metric.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pgqueue.manager.admin import AdminService, QueueActivity, Timings
from pgqueue.manager.aio import JobQueueManager
from pgqueue.types import STAT_FIELDS, QueueStats

WINDOW_SECONDS = 300
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


@dataclass
class Snapshot:
    """Everything one scrape reports, read before the registry renders it."""

    stats: dict[str, QueueStats] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    activity: dict[str, QueueActivity] = field(default_factory=dict)
    retrying: dict[str, int] = field(default_factory=dict)
    timings: dict[str, Timings] = field(default_factory=dict)


def _histogram(
    name: str, doc: str, per_queue: Mapping[str, tuple[list[tuple[float, int]], int, float]]
) -> Metric:
    family = GaugeHistogramMetricFamily(name, doc, labels=["queue"])
    for queue, (le, count, total) in per_queue.items():
        buckets = [(str(bound), float(n)) for bound, n in le] + [("+Inf", float(count))]
        family.add_metric([queue], buckets, total)
    return family


class QueueCollector(Collector):
    """Renders the latest snapshot; the scrape handler sets it just before rendering."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterable[Metric]:
        snap = self.snapshot
        jobs = GaugeMetricFamily(
            "pgqueue_queue_jobs",
            "Jobs in each queue by state, as get_queue_stats counts them.",
            labels=["queue", "state"],
        )
        paused = GaugeMetricFamily(
            "pgqueue_queue_paused", "1 when the queue is paused.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "pgqueue_queue_oldest_waiting_seconds",
            "How long the oldest ready job has waited; 0 when none waits.",
            labels=["queue"],
        )
        finished = GaugeMetricFamily(
            "pgqueue_queue_finished_recently",
            f"Jobs that completed or failed in the last {WINDOW_SECONDS} s (kept rows only).",
            labels=["queue", "state"],
        )
        retrying = GaugeMetricFamily(
            "pgqueue_queue_retrying_jobs",
            "Jobs waiting for another attempt after a failed one.",
            labels=["queue"],
        )
        for queue, counts in snap.stats.items():
            for state in STAT_FIELDS:
                jobs.add_metric([queue, state], counts[state])
            paused.add_metric([queue], 1.0 if queue in snap.paused else 0.0)
            activity = snap.activity.get(queue)
            oldest.add_metric([queue], (activity and activity.oldest_waiting_seconds) or 0.0)
            finished.add_metric(
                [queue, "completed"], activity.completed_recently if activity else 0
            )
            finished.add_metric([queue, "failed"], activity.failed_recently if activity else 0)
            retrying.add_metric([queue], snap.retrying.get(queue, 0))
        yield from (jobs, paused, oldest, finished, retrying)
        yield _histogram(
            "pgqueue_job_duration_seconds",
            f"Run time of the last attempt of jobs that finished in the last {WINDOW_SECONDS} s.",
            {q: (t.run_le, t.count, t.run_sum) for q, t in snap.timings.items()},
        )
        yield _histogram(
            "pgqueue_job_wait_seconds",
            f"Time from ready to started of jobs that finished in the last {WINDOW_SECONDS} s.",
            {q: (t.wait_le, t.count, t.wait_sum) for q, t in snap.timings.items()},
        )


class Metrics:
    """A registry of its own per app, so two apps in one process never share samples."""

    def __init__(self) -> None:
        self.cache: tuple[float, bytes] | None = None
        """(good until, by the monotonic clock; the rendered scrape)."""
        self.lock = asyncio.Lock()
        self.registry = CollectorRegistry(auto_describe=True)
        self.queues = QueueCollector()
        self.registry.register(self.queues)
        self.admin_actions = Counter(
            "pgqueue_api_admin_actions",
            "Mutating admin API calls handled by this process, by action and outcome.",
            ["action", "outcome"],
            registry=self.registry,
        )

    def admin_action(self, action: str, outcome: str) -> None:
        self.admin_actions.labels(action=action, outcome=outcome).inc()

    def render(self, snapshot: Snapshot) -> bytes:
        self.queues.snapshot = snapshot
        return generate_latest(self.registry)


async def read_snapshot(manager: JobQueueManager, store: AdminService) -> Snapshot:
    stats = await manager.get_all_queue_stats()
    return Snapshot(
        stats=stats,
        paused=await manager.get_paused_queues(),
        activity=await manager.get_queue_activity(WINDOW_SECONDS),
        retrying=await store.retrying_jobs(),
        timings=await store.job_timings(list(stats), WINDOW_SECONDS, BUCKETS),
    )
