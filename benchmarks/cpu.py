"""CPU time spent by processes, from /proc: the cost per job that other load on the
machine does not distort as much as it distorts wall-clock rates.

On systems without /proc the numbers are simply absent.
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of `pid` so far, None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after it are fixed.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def snapshot(pids: set[int]) -> dict[int, float]:
    found = {pid: cpu_seconds(pid) for pid in pids}
    return {pid: t for pid, t in found.items() if t is not None}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two snapshots; a process born in between counts whole."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())
