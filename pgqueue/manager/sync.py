"""`SyncJobQueueManager`: the same API, blocking, for code without an event loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar, Unpack

from pgqueue.config import Settings
from pgqueue.db.connect import resolve_database_url, sync_pool
from pgqueue.manager import core, schedules
from pgqueue.models import (
    CleanupJobType,
    EmailJobType,
    Job,
    JobPriority,
    QueueName,
    ReportJobType,
)
from pgqueue.options import JobSpec, validate_priority, validate_queue
from pgqueue.registry import Registration, Registry, default_registry
from pgqueue.store import dashboard_ops, ops
from pgqueue.store.sync import SyncStore
from pgqueue.types import (
    JobOptions,
    JobOptionsWithoutPriority,
    JobOptionsWithoutTiming,
    QueueStats,
)

T = TypeVar("T")


class SyncJobQueueManager:
    """Blocking twin of `JobQueueManager`; safe to share between threads."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        registry: Registry | None = None,
        pool_size: int = 10,
    ) -> None:
        self._database_url = database_url
        self._settings = settings
        self.registry = registry if registry is not None else default_registry
        self._pool_size = pool_size
        self._store: SyncStore | None = None
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def database_url(self) -> str:
        return resolve_database_url(self._database_url)

    def _open(self) -> SyncStore:
        with self._lock:
            if self._store is None:
                pool = sync_pool(resolve_database_url(self._database_url), max_size=self._pool_size)
                pool.open(wait=True)
                self._store = SyncStore(pool)
            return self._store

    def _run(self, op: ops.Op[T]) -> T:
        return self._open().run(op)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.pool.close()
            self._store = None

    def __enter__(self) -> SyncJobQueueManager:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- producing ---------------------------------------------------------------------

    def _enqueue(self, queue: str, specs: list[JobSpec], connection: object) -> list[Job]:
        if not specs:
            return []
        store = self._open()
        for _ in range(core.KEY_RACE_RETRIES):
            try:
                if connection is not None:
                    return store.run_in(connection, ops.enqueue(queue, specs))
                return store.run(ops.enqueue(queue, specs))
            except ops.KeyRace:
                continue
        raise core.key_race_error(queue)

    def add_job(
        self,
        queue: str,
        name: str,
        data: Any = None,
        *,
        connection: object = None,
        **options: Unpack[JobOptions],
    ) -> Job:
        """Blocking twin of `JobQueueManager.add_job`."""
        spec = core.build_one(self.settings, queue, name, data, options)
        return self._enqueue(queue, [spec], connection)[0]

    def add_bulk(
        self, queue: str, jobs: Iterable[Mapping[str, Any]], *, connection: object = None
    ) -> list[Job]:
        """Blocking twin of `JobQueueManager.add_bulk`."""
        return self._enqueue(queue, core.build_bulk(self.settings, queue, jobs), connection)

    def add_delayed_job(
        self,
        queue: str,
        name: str,
        data: Any,
        delay: int,
        *,
        connection: object = None,
        **options: Unpack[JobOptionsWithoutTiming],
    ) -> Job:
        """Blocking twin of `JobQueueManager.add_delayed_job`."""
        return self.add_job(
            queue, name, data, connection=connection, **core.delayed_options(delay, options)
        )

    def add_scheduled_job(
        self,
        queue: str,
        name: str,
        data: Any,
        run_at: datetime,
        *,
        connection: object = None,
        **options: Unpack[JobOptionsWithoutTiming],
    ) -> Job:
        """Blocking twin of `JobQueueManager.add_scheduled_job`."""
        return self.add_job(
            queue, name, data, connection=connection, **core.scheduled_options(run_at, options)
        )

    def add_email_job(
        self,
        email_type: EmailJobType | str,
        data: Any,
        priority: JobPriority | int | None = None,
        **options: Unpack[JobOptionsWithoutPriority],
    ) -> Job:
        return self.add_job(
            QueueName.EMAIL, str(email_type), data, **validate_priority(priority), **options
        )

    def add_report_job(
        self,
        report_type: ReportJobType | str,
        data: Any,
        priority: JobPriority | int | None = None,
        **options: Unpack[JobOptionsWithoutPriority],
    ) -> Job:
        return self.add_job(
            QueueName.REPORT, str(report_type), data, **validate_priority(priority), **options
        )

    def add_cleanup_job(
        self,
        cleanup_type: CleanupJobType | str,
        data: Any = None,
        priority: JobPriority | int | None = None,
        **options: Unpack[JobOptionsWithoutPriority],
    ) -> Job:
        return self.add_job(
            QueueName.CLEANUP, str(cleanup_type), data, **validate_priority(priority), **options
        )

    def process_jobs(
        self, queue: str, name: str, fn: Callable[[Any], Any], concurrency: int | None = None
    ) -> Registration:
        """Blocking twin of `JobQueueManager.process_jobs`."""
        return self.registry.add(queue, name, fn, concurrency)

    # --- monitoring --------------------------------------------------------------------

    def get_queue_stats(self, queue: str) -> QueueStats:
        validate_queue(queue)
        return core.queue_stats(self._run(ops.queue_stats(queue)).get(queue))

    def get_all_queue_stats(self) -> dict[str, QueueStats]:
        return core.all_stats(self._run(ops.queue_stats(None)))

    def get_jobs(self, queue: str, state: str, start: int = 0, end: int = -1) -> list[Job]:
        validate_queue(queue)
        offset, limit = core.page(start, end)
        return self._run(ops.list_jobs(queue, core.job_state(state), offset, limit))

    def get_failed_jobs(self, queue: str, start: int = 0, end: int = -1) -> list[Job]:
        return self.get_jobs(queue, "failed", start, end)

    def get_job(self, queue: str, job_id: str | int) -> Job | None:
        validate_queue(queue)
        return self._run(ops.get_job(queue, core.job_ref(job_id)))

    def get_job_logs(
        self, queue: str, job_id: str | int, start: int = 0, end: int = -1
    ) -> list[dict[str, Any]]:
        validate_queue(queue)
        offset, limit = core.page(start, end)
        return self._run(ops.job_logs(queue, core.job_ref(job_id), offset, limit))

    def get_workers(self) -> list[dict[str, Any]]:
        return self._run(ops.list_workers())

    # --- administering -----------------------------------------------------------------

    def retry_job(self, queue: str, job_id: str | int) -> str:
        validate_queue(queue)
        return self._run(ops.retry_job(queue, core.job_ref(job_id)))

    def promote_job(self, queue: str, job_id: str | int) -> str:
        validate_queue(queue)
        return self._run(ops.promote_job(queue, core.job_ref(job_id)))

    def remove_job(self, queue: str, job_id: str | int) -> str:
        validate_queue(queue)
        return self._run(ops.remove_job(queue, core.job_ref(job_id)))

    def clean_queue(
        self, queue: str, grace: int, status: str = "completed", limit: int | None = None
    ) -> list[str]:
        validate_queue(queue)
        grace_ms, state, cap = core.clean_args(grace, status, limit)
        return self._run(ops.clean(queue, grace_ms, state, cap))

    def pause_queue(self, queue: str) -> None:
        validate_queue(queue)
        self._run(ops.set_paused(queue, True))

    def resume_queue(self, queue: str) -> None:
        validate_queue(queue)
        self._run(ops.set_paused(queue, False))

    def get_paused_queues(self) -> set[str]:
        return self._run(ops.paused_queues())

    def get_queue_activity(
        self, window_seconds: int = 3600
    ) -> dict[str, dashboard_ops.QueueActivity]:
        """Blocking twin of `JobQueueManager.get_queue_activity`."""
        return self._run(dashboard_ops.queue_activity(window_seconds))

    def search_jobs(self, queue: str, text: str, start: int = 0, end: int = -1) -> list[Job]:
        """Blocking twin of `JobQueueManager.search_jobs`."""
        validate_queue(queue)
        offset, limit = core.page(start, end)
        return self._run(dashboard_ops.search_jobs(queue, text, offset, limit))

    def retry_failed_jobs(self, queue: str) -> int:
        """Blocking twin of `JobQueueManager.retry_failed_jobs`."""
        validate_queue(queue)
        return self._run(dashboard_ops.retry_failed_jobs(queue))

    def promote_delayed_jobs(self, queue: str) -> int:
        """Blocking twin of `JobQueueManager.promote_delayed_jobs`."""
        validate_queue(queue)
        return self._run(dashboard_ops.promote_delayed_jobs(queue))

    # --- repeating jobs ----------------------------------------------------------------

    def add_repeating_job(
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
        """Blocking twin of `JobQueueManager.add_repeating_job`."""
        return self._run(
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

    def get_repeating_jobs(self) -> list[dict[str, Any]]:
        """Blocking twin of `JobQueueManager.get_repeating_jobs`."""
        return self._run(schedules.listing())

    def remove_repeating_job(self, key: str) -> None:
        """Blocking twin of `JobQueueManager.remove_repeating_job`."""
        self._run(schedules.remove(key))

    def schedule_daily_cleanup(self, tz: str = "UTC") -> list[str]:
        """Blocking twin of `JobQueueManager.schedule_daily_cleanup`."""
        return [
            self.add_repeating_job(schedules.DAILY_CLEANUP_QUEUE, str(kind), {}, cron, tz=tz)
            for kind, cron in schedules.DAILY_CLEANUP
        ]
