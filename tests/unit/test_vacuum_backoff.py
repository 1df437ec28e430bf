"""The worker's own vacuum of the jobs table backs off after a failure."""

from __future__ import annotations

from pgqueue.manager.worker_service import FailureBackoff


def test_a_failing_vacuum_waits_longer_each_time_then_resets() -> None:
    """A vacuum cut short by the statement timeout is not retried at every pass."""
    backoff = FailureBackoff(60.0, 3600.0)
    assert backoff.allowed(0.0)
    assert [backoff.failed(0.0) for _ in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert not backoff.allowed(3599.0) and backoff.allowed(3600.0)
    backoff.succeeded()
    assert backoff.allowed(0.0)
    assert backoff.failed(10.0) == 60 and not backoff.allowed(69.0) and backoff.allowed(70.0)
