"""A worker's per-minute counts of its completions: one entry per (queue, minute), and
a send that fails gives its counts back to the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pgqueue.models import Job, JobState
from pgqueue.worker.minutes import MinuteCounts

AT = datetime(2026, 12, 1, 12, 30, 45, 500_000, tzinfo=UTC)
MINUTE = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def job(queue: str, waited_ms: float | None, ran_ms: float | None) -> Job:
    started = None if ran_ms is None else AT - timedelta(milliseconds=ran_ms)
    ready = (
        None
        if started is None or waited_ms is None
        else started - timedelta(milliseconds=waited_ms)
    )
    return Job("1", queue, "x", {}, {}, JobState.ACTIVE, 3, run_at=ready, processed_at=started)


def test_completions_count_in_their_queue_and_minute() -> None:
    counts = MinuteCounts()
    counts.completed(AT, [job("a", 10, 5), job("a", 20, 15), job("b", 1, 2), job("a", None, None)])
    taken = counts.take()
    assert not counts
    assert set(taken) == {("a", MINUTE), ("b", MINUTE)}
    a = taken[("a", MINUTE)]
    assert a.completed == 3
    assert [round(x) for x in a.wait_ms] == [10, 20] and [round(x) for x in a.run_ms] == [5, 15]
    assert taken[("b", MINUTE)].completed == 1


def test_a_failed_send_is_merged_into_the_next() -> None:
    counts = MinuteCounts()
    counts.completed(AT, [job("a", 10, 5)])
    [(key, sent)] = counts.take().items()
    counts.completed(AT + timedelta(seconds=1), [job("a", 30, 7)])
    counts.put_back(key, sent)
    [(again, merged)] = counts.take().items()
    assert again == key and merged.completed == 2
    assert sorted(round(x) for x in merged.wait_ms) == [10, 30]
