"""`pgqueue/__init__.py` is the whole public surface, and DESIGN's names are on it."""

from __future__ import annotations

import inspect

import pgqueue
from pgqueue import JobQueueManager, SyncJobQueueManager
from pgqueue.options import MAX_DELAY_MS, backoff_delay_ms

GUIDE_METHODS = [
    "add_job",
    "add_bulk",
    "add_delayed_job",
    "add_scheduled_job",
    "process_jobs",
    "get_queue_stats",
    "get_all_queue_stats",
    "get_failed_jobs",
    "get_job",
    "retry_job",
    "remove_job",
    "clean_queue",
    "pause_queue",
    "resume_queue",
    "add_email_job",
    "add_report_job",
    "add_cleanup_job",
    "add_repeating_job",
    "get_repeating_jobs",
    "remove_repeating_job",
    "schedule_daily_cleanup",
]


def test_all_is_sorted_and_complete() -> None:
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions.
    assert pgqueue.__all__ == sorted(
        pgqueue.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )
    public = {name for name in dir(pgqueue) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(pgqueue, name))}
    assert set(pgqueue.__all__) == public - modules


def test_managers_are_twins_with_the_guides_methods() -> None:
    for name in GUIDE_METHODS:
        async_method = getattr(JobQueueManager, name)
        sync_method = getattr(SyncJobQueueManager, name)
        if name != "process_jobs":
            assert inspect.iscoroutinefunction(async_method), name
        assert not inspect.iscoroutinefunction(sync_method), name
        assert list(inspect.signature(async_method).parameters) == list(
            inspect.signature(sync_method).parameters
        ), name


def test_every_async_method_has_a_blocking_twin() -> None:
    def public(cls: type) -> dict[str, object]:
        return {n: v for n, v in vars(cls).items() if not n.startswith("_")}

    async_api, sync_api = public(JobQueueManager), public(SyncJobQueueManager)
    assert set(async_api) == set(sync_api)
    for name, method in async_api.items():
        if callable(method):
            assert list(inspect.signature(method).parameters) == list(
                inspect.signature(sync_api[name]).parameters  # type: ignore[arg-type]
            ), name


def test_default_instance_reads_the_environment() -> None:
    assert isinstance(pgqueue.job_queue_manager, JobQueueManager)


def test_backoff_follows_design() -> None:
    exponential = {"type": "exponential", "delay": 2000}
    assert [backoff_delay_ms(exponential, n) for n in (1, 2, 3)] == [2000, 4000, 8000]
    assert backoff_delay_ms({"type": "fixed", "delay": 500}, 4) == 500
    assert backoff_delay_ms(exponential, 1_000_000) == MAX_DELAY_MS
