"""Cron as Bull users write it, computed for fixed instants (no clock, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pgqueue import InvalidJobError
from pgqueue.manager.cron import cron_trigger, every_trigger, fire_times, latest_slot

NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")


def utc(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def in_utc(times: list[datetime]) -> list[datetime]:
    return [t.astimezone(UTC) for t in times]


def test_sunday_is_zero_as_in_cron() -> None:
    # 2025-01-01 is a Wednesday; "0 4 * * 0" is Sunday 04:00, not Monday.
    times = fire_times(cron_trigger("0 4 * * 0", UTC_ZONE), utc(2025, 1, 1), 2)
    assert in_utc(times) == [utc(2025, 1, 5, 4), utc(2025, 1, 12, 4)]
    assert fire_times(cron_trigger("0 4 * * 7", UTC_ZONE), utc(2025, 1, 1), 1) == times[:1]


@pytest.mark.parametrize(
    ("dow", "weekdays"),
    [
        ("1-5", {0, 1, 2, 3, 4}),  # Python's weekday(): Monday is 0
        ("MON-FRI", {0, 1, 2, 3, 4}),
        ("0,6", {5, 6}),
        ("*/2", {6, 1, 3, 5}),  # Sunday, Tuesday, Thursday, Saturday
    ],
)
def test_day_of_week_fields(dow: str, weekdays: set[int]) -> None:
    times = fire_times(cron_trigger(f"0 9 * * {dow}", UTC_ZONE), utc(2025, 1, 1), 14)
    assert {t.weekday() for t in times} == weekdays


def test_day_of_month_or_day_of_week_as_in_cron() -> None:
    # Both restricted: the 13th of the month OR any Friday.
    times = fire_times(cron_trigger("0 0 13 * 5", UTC_ZONE), utc(2025, 6, 1), 5)
    assert in_utc(times) == [
        utc(2025, 6, 6),
        utc(2025, 6, 13),
        utc(2025, 6, 20),
        utc(2025, 6, 27),
        utc(2025, 7, 4),
    ]


def test_six_fields_put_seconds_first() -> None:
    times = fire_times(cron_trigger("*/15 * * * * *", UTC_ZONE), utc(2025, 1, 1), 3)
    assert in_utc(times) == [
        utc(2025, 1, 1, 0, 0, 15),
        utc(2025, 1, 1, 0, 0, 30),
        utc(2025, 1, 1, 0, 0, 45),
    ]


def test_time_zone_moves_the_slot() -> None:
    times = fire_times(cron_trigger("0 9 * * *", NEW_YORK), utc(2025, 1, 1), 1)
    assert in_utc(times) == [utc(2025, 1, 1, 14)]


def test_fixed_time_fires_once_when_clocks_go_back() -> None:
    # 2025-11-02 01:30 happens twice in New York; a daily 01:30 job runs once that day.
    times = fire_times(cron_trigger("30 1 * * *", NEW_YORK), utc(2025, 11, 1, 12), 3)
    assert in_utc(times) == [
        utc(2025, 11, 2, 5, 30),
        utc(2025, 11, 3, 6, 30),
        utc(2025, 11, 4, 6, 30),
    ]


def test_interval_job_keeps_elapsed_time_when_clocks_go_back() -> None:
    # Every 30 minutes means every 30 minutes, through both passes of the repeated hour.
    times = fire_times(cron_trigger("*/30 * * * *", NEW_YORK), utc(2025, 11, 2, 4, 10), 7)
    assert in_utc(times) == [utc(2025, 11, 2, 4, 30) + timedelta(minutes=30 * i) for i in range(7)]


def test_skipped_time_fires_once_when_clocks_go_forward() -> None:
    # 2025-03-09 02:30 does not exist in New York: that day's job runs at 03:30 EDT.
    times = fire_times(cron_trigger("30 2 * * *", NEW_YORK), utc(2025, 3, 8, 12), 3)
    assert in_utc(times) == [
        utc(2025, 3, 9, 7, 30),
        utc(2025, 3, 10, 6, 30),
        utc(2025, 3, 11, 6, 30),
    ]


def test_apscheduler_style_stepping_through_the_repeated_hour_never_goes_back() -> None:
    trigger = cron_trigger("*/30 * * * *", NEW_YORK)
    now = utc(2025, 11, 2, 8)
    slot = trigger.get_next_fire_time(None, utc(2025, 11, 2, 4, 10))
    seen = []
    while slot is not None and slot <= now:
        seen.append(slot.astimezone(UTC))
        slot = trigger.get_next_fire_time(slot, now)
    assert seen == [utc(2025, 11, 2, 4, 30) + timedelta(minutes=30 * i) for i in range(8)]


def test_start_and_end_bound_the_slots() -> None:
    trigger = cron_trigger("0 * * * *", UTC_ZONE, utc(2025, 1, 1, 5), utc(2025, 1, 1, 7))
    assert in_utc(fire_times(trigger, utc(2025, 1, 1), 10)) == [
        utc(2025, 1, 1, 5),
        utc(2025, 1, 1, 6),
        utc(2025, 1, 1, 7),
    ]


def test_every_is_aligned_to_whole_multiples_of_the_interval() -> None:
    times = fire_times(every_trigger(1500), utc(2025, 1, 1, 0, 0, 1), 3)
    assert times == [
        utc(2025, 1, 1, 0, 0, 1, 500000),
        utc(2025, 1, 1, 0, 0, 3),
        utc(2025, 1, 1, 0, 0, 4, 500000),
    ]


@pytest.mark.parametrize(
    ("cron", "after", "now", "expected"),
    [
        # A per-second cron: the latest slot is the current second.
        (
            "* * * * * *",
            utc(2025, 1, 1),
            utc(2025, 1, 1, 12, 0, 5, 400000),
            utc(2025, 1, 1, 12, 0, 5),
        ),
        # A daily job three days behind: only its latest slot, not three.
        ("0 2 * * *", utc(2024, 12, 29), utc(2025, 1, 1, 12), utc(2025, 1, 1, 2)),
        # Already fired: nothing is missed.
        ("0 2 * * *", utc(2025, 1, 1, 2), utc(2025, 1, 1, 12), None),
        # The grace window (the caller's `after`) ends before the slot.
        ("0 2 * * *", utc(2025, 1, 1, 11), utc(2025, 1, 1, 12), None),
    ],
)
def test_latest_missed_slot(
    cron: str, after: datetime, now: datetime, expected: datetime | None
) -> None:
    assert latest_slot(cron_trigger(cron, UTC_ZONE), after, now) == expected


@pytest.mark.parametrize(
    "cron",
    [
        "",
        "* * * *",
        "* * * * * * *",
        "61 * * * *",
        "* 24 * * *",
        "abc * * * *",
        "0 0 * * 8",
        "0 0 * * 5-2",
        "0 0 32 * *",
        "0 0 * 13 *",
        "0 0 * * 1#2",
    ],
)
def test_invalid_cron(cron: str) -> None:
    with pytest.raises(InvalidJobError):
        cron_trigger(cron, UTC_ZONE)
