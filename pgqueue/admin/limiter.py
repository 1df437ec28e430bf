"""Failed authentications counted per client address over a sliding minute.

Kept in memory per process: it bounds what one address can try against one process,
which is what makes guessing slow and keeps a flood of bad credentials from costing a
database lookup each. Memory is bounded too: addresses with nothing in the last minute
are dropped, and at most `MAX_ADDRESSES` are tracked.
"""

from __future__ import annotations

import math
import time
from collections import deque

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000


class FailureLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        found = self._failures.get(client)
        if found is None:
            return deque()
        while found and found[0] <= now - WINDOW_SECONDS:
            found.popleft()
        if not found:
            del self._failures[client]
        return found

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may fail again, or None while it is under the limit."""
        now = time.monotonic()
        recent = self._recent(client, now)
        if len(recent) < self.per_minute:
            return None
        return max(1, math.ceil(recent[0] + WINDOW_SECONDS - now))

    def record(self, client: str) -> None:
        now = time.monotonic()
        if client not in self._failures and len(self._failures) >= MAX_ADDRESSES:
            for other in list(self._failures):
                self._recent(other, now)
            if len(self._failures) >= MAX_ADDRESSES:
                self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque()).append(now)
