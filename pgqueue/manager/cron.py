"""Cron expressions as Bull reads them, turned into APScheduler 3 triggers.

APScheduler 3 differs from cron in three ways that would silently move a user's jobs, so
the expression is translated rather than handed to `CronTrigger.from_crontab`:
- its day-of-week numbers start at Monday; cron's 0 (and 7) is Sunday;
- it fires when day-of-month AND day-of-week match; cron fires when either does, if both
  are restricted;
- in the hour repeated when clocks go back, it fires a fixed-time job twice; cron fires
  it once (jobs whose hour field is `*` or `*/n` still run in both passes: they are about
  elapsed time, not a time of day).
A time skipped when clocks go forward fires once, an hour later by the wall clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pgqueue.errors import InvalidJobError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_ITEM = re.compile(r"^(\*|\w+)(?:-(\w+))?(?:/(\d+))?$")
_ONE_MICROSECOND = timedelta(microseconds=1)


def zone(tz: object) -> ZoneInfo:
    if not isinstance(tz, str) or not tz:
        raise InvalidJobError(f"tz must be an IANA time zone name such as 'UTC', got {tz!r}")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidJobError(f"unknown time zone {tz!r}") from None


def _day_number(token: str, cron: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token) % 7
    if token.lower() in _DAY_NAMES:
        return _DAY_NAMES.index(token.lower())
    raise InvalidJobError(f"invalid day of week {token!r} in cron {cron!r}")


def _days_of_week(field: str, cron: str) -> str:
    """Cron's day-of-week field as APScheduler day names (`*` when every day)."""
    days: set[int] = set()
    for item in field.split(","):
        match = _DOW_ITEM.match(item)
        if not match:
            raise InvalidJobError(f"invalid day-of-week field {field!r} in cron {cron!r}")
        first, last, step = match.groups()
        if first == "*":
            low, high = 0, 6
        else:
            low = _day_number(first, cron)
            high = low if last is None else _day_number(last, cron)
            if last is not None and last.isdigit() and int(last) == 7:
                high = 7
        if high < low or (step is not None and int(step) < 1):
            raise InvalidJobError(f"invalid day-of-week range {item!r} in cron {cron!r}")
        if first != "*" and last is None and step is not None:
            high = 7
        days.update(d % 7 for d in range(low, high + 1, int(step or 1)))
    if len(days) == 7:
        return "*"
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _restricted(field: str) -> bool:
    return not field.startswith(("*", "?"))


class _ZonedCron(BaseTrigger):  # type: ignore[misc]
    """APScheduler's cron, stepped in UTC, and once per fixed time in the repeated hour.

    APScheduler 3 steps from a previous fire time by the wall clock, which in the hour
    repeated when clocks go back can land an hour earlier; asking for the first fire
    time at or after the instant instead (with no previous fire time) has no such issue.
    """

    def __init__(self, inner: Any, tz: tzinfo, once_in_repeated_hour: bool) -> None:
        self.inner = inner
        self.tz = tz
        self.once_in_repeated_hour = once_in_repeated_hour

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        # After a previous fire, the next one may be before `now`: that is how APScheduler
        # counts the slots it missed.
        start = now.astimezone(UTC)
        if previous is not None:
            start = previous.astimezone(UTC) + _ONE_MICROSECOND
        moment: datetime | None = self.inner.get_next_fire_time(None, start)
        while moment is not None and self.once_in_repeated_hour and _second_pass(moment, self.tz):
            moment = self.inner.get_next_fire_time(None, _end_of_second_pass(moment, self.tz))
        return moment

    def __str__(self) -> str:
        return str(self.inner)


def _second_pass(moment: datetime, tz: tzinfo) -> bool:
    local = moment.astimezone(tz)
    return local.fold == 1 and local.utcoffset() != local.replace(fold=0).utcoffset()


def _end_of_second_pass(moment: datetime, tz: tzinfo) -> datetime:
    """The first second after the repeated hour."""
    probe = moment.astimezone(UTC).replace(microsecond=0)
    while _second_pass(probe, tz):
        probe += timedelta(seconds=1)
    return probe


def cron_trigger(
    cron: str, tz: ZoneInfo, start: datetime | None = None, end: datetime | None = None
) -> Any:
    """A trigger for five fields (minute first) or six (seconds first), as in Bull."""
    if not isinstance(cron, str):
        raise InvalidJobError(f"cron must be a string, got {cron!r}")
    fields = cron.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise InvalidJobError(
            f"cron must have 5 fields (minute first) or 6 (seconds first), got {cron!r}"
        )
    second, minute, hour, day, month, dow = fields
    day = {"?": "*", "L": "last"}.get(day, day)
    days_of_week = _days_of_week("*" if dow == "?" else dow, cron)
    common = {"second": second, "minute": minute, "hour": hour, "month": month}
    window = {"timezone": tz, "start_date": start, "end_date": end}
    try:
        if _restricted(day) and _restricted(dow):
            inner: Any = OrTrigger(
                [
                    CronTrigger(**common, day=day, **window),
                    CronTrigger(**common, day_of_week=days_of_week, **window),
                ]
            )
        else:
            inner = CronTrigger(**common, day=day, day_of_week=days_of_week, **window)
    except ValueError as exc:
        raise InvalidJobError(f"invalid cron {cron!r}: {exc}") from None
    return _ZonedCron(inner, tz, once_in_repeated_hour=not hour.startswith("*"))


def every_trigger(every_ms: int, start: datetime | None = None, end: datetime | None = None) -> Any:
    """Bull's `repeat.every`: slots at whole multiples of `every_ms` since the epoch, or
    since `start` when given."""
    return IntervalTrigger(
        seconds=every_ms / 1000, start_date=start or EPOCH, end_date=end, timezone=UTC
    )


def fire_times(trigger: Any, after: datetime, count: int) -> list[datetime]:
    """The next `count` slots strictly after `after`."""
    times: list[datetime] = []
    moment = after.astimezone(UTC)
    previous: datetime | None = None
    while len(times) < count:
        found: datetime | None = trigger.get_next_fire_time(previous, moment + _ONE_MICROSECOND)
        if found is None:
            break
        times.append(found)
        previous, moment = found, found.astimezone(UTC)
    return times


def latest_slot(trigger: Any, after: datetime, now: datetime) -> datetime | None:
    """The latest slot in (`after`, `now`], found by doubling a window back from `now`
    so that a per-second cron and a yearly one both cost a handful of trigger calls."""
    after, now = after.astimezone(UTC), now.astimezone(UTC)
    window = timedelta(seconds=1)
    while True:
        start = max(now - window, after)
        found: datetime | None = trigger.get_next_fire_time(None, start + _ONE_MICROSECOND)
        if found is not None and found <= now:
            while True:
                following = trigger.get_next_fire_time(
                    found, found.astimezone(UTC) + _ONE_MICROSECOND
                )
                if following is None or following > now:
                    return found
                found = following
        if start <= after:
            return None
        window *= 2
