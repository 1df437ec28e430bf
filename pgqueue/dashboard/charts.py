"""Per-minute charts drawn on the server as inline SVG: no script, no library, no CDN.

Each chart is one `<svg>` whose x axis is the minutes of the window (one unit per
minute) and whose y axis is scaled to the chart's largest value; minutes without jobs
draw nothing. Labels live in the surrounding HTML, not in the stretched drawing, and
each chart states its numbers in text (`<title>`, `<desc>`, the caption) for readers
that do not see it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from pgqueue.types import MinuteMetrics

HEIGHT = 60
"""Drawing units; the page sets the shown size."""


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    summary: str
    top: str
    """The value at the top of the y axis, as people read it."""
    svg: Markup


def duration_ms(value: float) -> str:
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    if value < 3_600_000:
        return f"{value / 60_000:.1f} min"
    return f"{value / 3_600_000:.1f} h"


def _bars(values: Sequence[float], top: float, css: str, base: Sequence[float] = ()) -> str:
    """One rect per minute with a value, standing on `base` (for stacking)."""
    parts = []
    for x, value in enumerate(values):
        if value <= 0:
            continue
        below = base[x] if base else 0.0
        height = value / top * HEIGHT
        y = HEIGHT - below / top * HEIGHT - height
        parts.append(
            f'<rect class="{css}" x="{x}" y="{y:.3f}" width="1" height="{height:.3f}">'
            f"<title>{value:g}</title></rect>"
        )
    return "".join(parts)


def _svg(key: str, title: str, description: str, width: int, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" data-chart="{key}" viewBox="0 0 {width} {HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-labelledby="{key}-title {key}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(description)}</desc>'
        f'<line class="axis" x1="0" y1="{HEIGHT}" x2="{width}" y2="{HEIGHT}"/>'
        f"{body}</svg>"
    )


def _median_chart(
    key: str,
    title: str,
    series: Sequence[MinuteMetrics],
    pick: Callable[[MinuteMetrics], float | None],
) -> Chart:
    values = [pick(m) for m in series]
    known = [v for v in values if v is not None]
    top = max(known, default=0.0)
    scale = top or 1.0
    description = (
        f"{title} per minute: highest {duration_ms(top)}, over {len(known)} "
        f"minute{'' if len(known) == 1 else 's'} with jobs"
        if known
        else f"{title}: no job finished in this window"
    )
    body = _bars([v or 0.0 for v in values], scale, "median")
    return Chart(
        key,
        title,
        description,
        duration_ms(top) if known else "-",
        _svg(key, title, description, len(series), body),
    )


def build(series: Sequence[MinuteMetrics]) -> list[Chart]:
    """Jobs completed and failed (stacked), median wait and median run time."""
    completed = [float(m["completed"]) for m in series]
    failed = [float(m["failed"]) for m in series]
    peak = max((c + f for c, f in zip(completed, failed, strict=True)), default=0.0)
    done, lost = int(sum(completed)), int(sum(failed))
    description = f"{done} completed and {lost} failed; at most {peak:g} in one minute"
    jobs = _svg(
        "jobs",
        "Jobs per minute",
        description,
        len(series),
        _bars(completed, peak or 1.0, "completed")
        + _bars(failed, peak or 1.0, "failed", completed),
    )
    return [
        Chart("jobs", "Jobs per minute", description, f"{peak:g}", jobs),
        _median_chart("wait", "Median wait", series, lambda m: m["wait_median_ms"]),
        _median_chart("run", "Median run time", series, lambda m: m["run_median_ms"]),
    ]


def window(series: Sequence[MinuteMetrics]) -> tuple[datetime | None, datetime | None]:
    return (series[0]["minute"], series[-1]["minute"]) if series else (None, None)
