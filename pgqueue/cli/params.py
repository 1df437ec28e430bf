"""Parameter types the operator commands share: human durations and JSON input."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
MAX_DURATION_MS = 100 * 365 * 86_400_000


def parse_duration(text: str) -> int:
    """`500ms`, `30s`, `15m`, `1h`, `7d`, `2w`, or several together (`1h30m`), in ms.

    A bare number is refused: whether `30` means seconds or milliseconds is exactly the
    question an operator should not have to guess."""
    spec = text.strip().replace(" ", "")
    if not spec or _PART.sub("", spec):
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit (ms, s, m, h, d, w), "
            "e.g. 30s, 1h, 7d or 1h30m"
        )
    total = sum(int(n) * _MS[unit] for n, unit in _PART.findall(spec))
    if total > MAX_DURATION_MS:
        raise ValueError(f"{text!r} is longer than 100 years")
    return total


class Duration(click.ParamType[int]):
    """A human duration, converted to milliseconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class JsonValue(click.ParamType[Any]):
    """JSON text, or `-` to read it from standard input."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        text = sys.stdin.read() if value == "-" else value
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = "standard input" if value == "-" else "the value"
            self.fail(f"{where} is not valid JSON: {exc}", param, ctx)


DURATION = Duration()
JSON_VALUE = JsonValue()
