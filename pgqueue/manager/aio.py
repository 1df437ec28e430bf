"""`JobQueueManager`: the guide's Python API on asyncio.

`sync.py` is generated from this module (`make twins`); the pool, the one part that
differs, is in `aio_base.py` and `sync_base.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Unpack

from pgqueue.manager import core, schedules
from pgqueue.manager.aio_base import AsyncManagerBase
from pgqueue.models import (
    CleanupJobType,
    EmailJobType,
    Job,
    JobPriority,
    QueueName,
    ReportJobType,
)
from pgqueue.options import JobSpec, validate_priority, validate_queue
from pgqueue.registry import Registration
from pgqueue.store import bulk_ops, chart_ops, dashboard_ops, feature_ops, ops
from pgqueue.types import (
    JobOptions,
    JobOptionsWithoutPriority,
    JobOptionsWithoutTiming,
    MinuteMetrics,
    QueueStats,
)


class JobQueueManager(AsyncManagerBase):
    """Produce, inspect and administer jobs.

    `database_url=None` means the environment (`DATABASE_URL`, else the embedded server).
    """

    # --- producing ---------------------------------------------------------------------

    async def _enqueue(self, queue: str, specs: list[JobSpec], connection: object) -> list[Job]:
        if not specs:
            return []
        store = await self._open()
        for _ in range(core.KEY_RACE_RETRIES):
            try:
                if connection is not None:
                    return await store.run_in(connection, ops.enqueue(queue, specs))
                return await store.run(ops.enqueue(queue, specs))
            except ops.KeyRace:
                continue
        raise core.key_race_error(queue)

    async def add_job(
        self,
        queue: str,
        name: str,
        data: Any = None,
        *,
        connection: object = None,
        **options: Unpack[JobOptions],
    ) -> Job:
        """Add one job; with `connection=`, inside the caller's transaction."""
        spec = core.build_one(self.settings, queue, name, data, options)
        [job] = await self._enqueue(queue, [spec], connection)
        return job

    async def add_bulk(
        self, queue: str, jobs: Iterable[Mapping[str, Any]], *, connection: object = None
    ) -> list[Job]:
        """Add many jobs in one transaction: `[{"name": …, "data": …, "opts": {…}}, …]`.
        From 200 jobs without a `job_id` they go by binary COPY."""
        with core.collector_paused():
            items = core.bulk_items(queue, jobs)
            if connection is None and core.copyable(items):
                build = core.BulkBuilder(self.settings, queue, items).specs
                store = await self._open()
                return await store.run_copy(bulk_ops.enqueue_copy(queue, len(items), build))
            specs = core.build_bulk(self.settings, queue, items)
            return await self._enqueue(queue, specs, connection)

    async def add_delayed_job(
        self,
        queue: str,
        name: str,
        data: Any,
        delay: int,
        *,
        connection: object = None,
        **options: Unpack[JobOptionsWithoutTiming],
    ) -> Job:
        """Add a job that becomes ready `delay` ms from now."""
        return await self.add_job(
            queue, name, data, connection=connection, **core.delayed_options(delay, options)
        )

    async def add_scheduled_job(
        self,
        queue: str,
        name: str,
        data: Any,
        run_at: datetime,
        *,
        connection: object = None,
        **options: Unpack[JobOptionsWithoutTiming],
    ) -> Job:
        """Add a job that becomes ready at `run_at` (a naive datetime is local time)."""
        return await self.add_job(
            queue, name, data, connection=connection, **core.scheduled_options(run_at, options)
        )

    async def add_email_job(
        self,
        email_type: EmailJobType | str,
        data: Any,
        priority: JobPriority | int | None = None,
        **options: Unpack[JobOptionsWithoutPriority],
    ) -> Job:
        return await self.add_job(
            QueueName.EMAIL, str(email_type), data, **validate_priority(priority), **options
        )

    async def add_report_job(
        self,
        report_type: ReportJobType | str,
        data: Any,
        priority: JobPriority | int | None = None,
        **options: Unpack[JobOptionsWithoutPriority],
    ) -> Job:
        return await self.add_job(
            QueueName.REPORT, str(report_type), data, **validate_priority(priority), **options
        )

    async def add_cleanup_job(
        self,
        cleanup_type: CleanupJobType | str,
        data: Any = None,
        priority: JobPriority | int | None = None,
        **options: Unpack[JobOptionsWithoutPriority],
    ) -> Job:
        return await self.add_job(
            QueueName.CLEANUP, str(cleanup_type), data, **validate_priority(priority), **options
        )

    # --- processing --------------------------------------------------------------------

    def process_jobs(
        self, queue: str, name: str, fn: Callable[[Any], Any], concurrency: int | None = None
    ) -> Registration:
        """Register `fn` for `name` jobs of `queue` (`"*"`: all); workers that import the
        registering module run it (`pgqueue worker --import MOD`)."""
        return self.registry.add(queue, name, fn, concurrency)

    # --- monitoring --------------------------------------------------------------------

    async def get_queue_stats(self, queue: str) -> QueueStats:
        validate_queue(queue)
        found = await self._run(ops.queue_stats(queue))
        return core.queue_stats(found.get(queue))

    async def get_all_queue_stats(self) -> dict[str, QueueStats]:
        return core.all_stats(await self._run(ops.queue_stats(None)))

    async def get_jobs(self, queue: str, state: str, start: int = 0, end: int = -1) -> list[Job]:
        """Jobs in one state, newest first; `start`/`end` are Bull's inclusive range."""
        validate_queue(queue)
        offset, limit = core.page(start, end)
        return await self._run(ops.list_jobs(queue, core.job_state(state), offset, limit))

    async def get_failed_jobs(self, queue: str, start: int = 0, end: int = -1) -> list[Job]:
        return await self.get_jobs(queue, "failed", start, end)

    async def get_job(self, queue: str, job_id: str | int) -> Job | None:
        validate_queue(queue)
        return await self._run(ops.get_job(queue, core.job_ref(job_id)))

    async def get_job_logs(
        self, queue: str, job_id: str | int, start: int = 0, end: int = -1
    ) -> list[dict[str, Any]]:
        validate_queue(queue)
        offset, limit = core.page(start, end)
        return await self._run(ops.job_logs(queue, core.job_ref(job_id), offset, limit))

    async def get_workers(self) -> list[dict[str, Any]]:
        return await self._run(ops.list_workers())

    async def get_minute_metrics(
        self, queue: str | None = None, minutes: int = core.MAX_METRIC_MINUTES
    ) -> list[MinuteMetrics]:
        """The last `minutes` minutes (up to a day), oldest first, for `queue` or every
        queue together (None): jobs completed and failed, median wait and run time. They
        are counted as jobs finish, so retention removing jobs takes nothing away."""
        name = chart_ops.ALL_QUEUES if queue is None else validate_queue(queue)
        return await self._run(chart_ops.minute_metrics(name, core.metric_minutes(minutes)))

    # --- administering -----------------------------------------------------------------

    async def retry_job(self, queue: str, job_id: str | int) -> str:
        """Put a failed job back in line with fresh attempts; returns its id."""
        validate_queue(queue)
        return await self._run(ops.retry_job(queue, core.job_ref(job_id)))

    async def promote_job(self, queue: str, job_id: str | int) -> str:
        """Run a delayed job now; returns its id."""
        validate_queue(queue)
        return await self._run(ops.promote_job(queue, core.job_ref(job_id)))

    async def remove_job(self, queue: str, job_id: str | int) -> str:
        """Delete a job that is not active; returns its id."""
        validate_queue(queue)
        return await self._run(ops.remove_job(queue, core.job_ref(job_id)))

    async def clean_queue(
        self, queue: str, grace: int, status: str = "completed", limit: int | None = None
    ) -> list[str]:
        """Remove jobs in `status` older than `grace` ms; returns the removed ids."""
        validate_queue(queue)
        grace_ms, state, cap = core.clean_args(grace, status, limit)
        return await self._run(ops.clean(queue, grace_ms, state, cap))

    async def pause_queue(self, queue: str) -> None:
        validate_queue(queue)
        await self._run(ops.set_paused(queue, True))

    async def resume_queue(self, queue: str) -> None:
        validate_queue(queue)
        await self._run(ops.set_paused(queue, False))

    async def get_paused_queues(self) -> set[str]:
        return await self._run(ops.paused_queues())

    async def get_queue_activity(
        self, window_seconds: int = 3600
    ) -> dict[str, dashboard_ops.QueueActivity]:
        """Per queue with ready or recently finished jobs: oldest waiting age, and jobs
        completed and failed in the last `window_seconds` (the dashboard's overview)."""
        return await self._run(dashboard_ops.queue_activity(window_seconds))

    async def search_jobs(self, queue: str, text: str, start: int = 0, end: int = -1) -> list[Job]:
        """Jobs of any state whose id or key is `text` or whose name contains it."""
        validate_queue(queue)
        offset, limit = core.page(start, end)
        return await self._run(dashboard_ops.search_jobs(queue, text, offset, limit))

    async def retry_failed_jobs(self, queue: str) -> int:
        """Put every failed job of `queue` back in line with fresh attempts; returns how many."""
        validate_queue(queue)
        return await self._run(dashboard_ops.retry_failed_jobs(queue))

    async def promote_delayed_jobs(self, queue: str) -> int:
        """Make every delayed job of `queue` ready now; returns how many."""
        validate_queue(queue)
        return await self._run(dashboard_ops.promote_delayed_jobs(queue))

    # --- queue features ----------------------------------------------------------------

    async def cancel_job(self, queue: str, job_id: str | int, *, by: str | None = None) -> str:
        """End a waiting, delayed or active job in the state `cancelled`; returns its id.
        A running `async def` processor is cancelled; a plain `def` one sees
        `job.cancel_requested`. `by` says who cancelled (default: user@host)."""
        validate_queue(queue)
        ref = core.job_ref(job_id)
        return await self._run(feature_ops.cancel_job(queue, ref, core.cancelled_by(by)))

    async def wait_for_job(self, queue: str, job_id: str | int, timeout: float = 30) -> Job:
        """The job once it is completed, failed or cancelled (BullMQ's
        `waitUntilFinished`); `TimeoutError` after `timeout` seconds. Woken by NOTIFY,
        not polling. A job deleted as it finished (`remove_on_complete=True`) raises
        `JobNotFoundError`."""
        validate_queue(queue)
        ref = core.job_ref(job_id)
        return await self._wait_until_finished(queue, ref, core.wait_timeout(timeout))

    async def set_rate_limit(self, queue: str, max: int | None, duration: int = 1000) -> None:
        """At most `max` jobs of `queue` start in any `duration` ms, across every worker
        process and host (BullMQ's limiter). `max=None` removes the limit."""
        validate_queue(queue)
        args = core.rate_limit_args(max, duration)
        if args is None:
            await self._run(feature_ops.clear_rate_limit(queue))
        else:
            await self._run(feature_ops.set_rate_limit(queue, *args))

    async def set_global_concurrency(self, queue: str, n: int | None) -> None:
        """At most `n` jobs of `queue` active at once across all workers; None removes
        the limit."""
        validate_queue(queue)
        value = core.concurrency_arg(n)
        if value is None:
            await self._run(feature_ops.clear_global_concurrency(queue))
        else:
            await self._run(feature_ops.set_global_concurrency(queue, value))

    async def get_queue_limits(
        self, queue: str | None = None
    ) -> dict[str, feature_ops.QueueLimits]:
        """Queues with a limit: the limit, and how many ready jobs it holds back now."""
        if queue is not None:
            validate_queue(queue)
        return await self._run(feature_ops.queue_limits(queue))

    async def add_flow(self, tree: Mapping[str, Any]) -> dict[str, Any]:
        """Add a parent and its children, at any depth, in one transaction (BullMQ's
        FlowProducer): `{"queue", "name", "data", "opts", "children": [...]}`. A parent
        waits in `waiting-children` until every child has completed; a child that fails
        for good fails it, unless the child's opts say `fail_parent_on_failure: False`.
        Returns the tree as `{"job": Job, "children": [...]}`."""
        nodes = core.flow_nodes(self.settings, tree)
        store = await self._open()
        jobs = await store.run_chain(
            feature_ops.reserve_job_ids(len(nodes)),
            lambda ids: feature_ops.insert_flow(ids, nodes),
        )
        return core.flow_tree(nodes, jobs)

    async def get_job_children(self, queue: str, job_id: str | int) -> list[Job]:
        """A flow parent's children, in any queue, oldest first."""
        validate_queue(queue)
        return await self._run(feature_ops.job_children(queue, core.job_ref(job_id)))

    async def get_job_parent(self, queue: str, job_id: str | int) -> Job | None:
        """The parent of a flow's child; None for a job without one."""
        validate_queue(queue)
        return await self._run(feature_ops.job_parent(queue, core.job_ref(job_id)))

    # --- repeating jobs ----------------------------------------------------------------

    async def add_repeating_job(
        self,
        queue: str,
        name: str,
        data: Any,
        cron: str | None,
        *,
        tz: str = "UTC",
        every: int | None = None,
        limit: int | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        key: str | None = None,
        **options: Unpack[JobOptionsWithoutTiming],
    ) -> str:
        """Add a job that repeats on `cron` (5 fields, or 6 with seconds first) in `tz`, or
        every `every` ms; returns the schedule's key. The same queue, name, cron and tz is
        the same schedule: adding it again updates it. `pgqueue scheduler` fires it."""
        return await self._run(
            schedules.add(
                self.settings,
                queue,
                name,
                data,
                cron,
                tz=tz,
                every=every,
                limit=limit,
                start_date=start_date,
                end_date=end_date,
                key=key,
                options=options,
            )
        )

    async def get_repeating_jobs(self) -> list[dict[str, Any]]:
        """Every schedule: key, queue, name, cron, tz, next_run (None once done), every,
        last_run, count, limit, start_date, end_date, data, opts."""
        return await self._run(schedules.listing())

    async def remove_repeating_job(self, key: str) -> None:
        """Delete a schedule; no slot fires after this returns. Raises
        `JobNotFoundError` when no schedule has `key`."""
        await self._run(schedules.remove(key))

    async def schedule_daily_cleanup(self, tz: str = "UTC") -> list[str]:
        """The guide's `scheduleDailyCleanup`: the four cleanup jobs on their crons.
        Calling it again changes nothing; returns the schedules' keys."""
        return [
            await self.add_repeating_job(schedules.DAILY_CLEANUP_QUEUE, str(kind), {}, cron, tz=tz)
            for kind, cron in schedules.DAILY_CLEANUP
        ]
