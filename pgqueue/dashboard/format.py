"""How times, durations and job values read on the dashboard's pages (Jinja2 filters)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(seconds: float | None) -> str:
    """The largest whole unit, as a person says it: "3 minutes", "1 hour"."""
    if seconds is None:
        return "—"
    seconds = abs(seconds)
    for unit, size in _UNITS:
        if seconds >= size or size == 1:
            count = int(seconds // size)
            return f"{count} {unit}" + ("" if count == 1 else "s")
    raise AssertionError("unreachable: the last unit is one second")


def exact_interval(milliseconds: int) -> str:
    """The largest unit that divides the interval exactly: 90 s stays "90 seconds"."""
    if milliseconds % 1000:
        return f"{milliseconds} ms"
    seconds = milliseconds // 1000
    for unit, size in _UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    raise AssertionError("unreachable: every whole number of seconds divides by one")


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """ "in 3 minutes" or "3 minutes ago"."""
    if moment is None:
        return "—"
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(delta)} ago"


def timestamp(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def zoned(moment: datetime | None, zone: str) -> str:
    """A time in the time zone a schedule runs in, as its cron is read there."""
    if moment is None:
        return "—"
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return timestamp(moment)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + zone


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def progress_percent(progress: Any) -> float | None:
    """A numeric progress is a percentage for the bar; any other value is shown as JSON."""
    if isinstance(progress, bool) or not isinstance(progress, int | float):
        return None
    return float(min(100.0, max(0.0, progress)))


FILTERS = {
    "duration": duration,
    "exact_interval": exact_interval,
    "relative": relative,
    "timestamp": timestamp,
    "zoned": zoned,
    "pretty_json": pretty_json,
    "percent": percent,
    "progress_percent": progress_percent,
}
