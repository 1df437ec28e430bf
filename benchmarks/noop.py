"""The benchmark's processors for `pgqueue worker --import benchmarks.noop`."""

from __future__ import annotations

from typing import Any

import pgqueue


@pgqueue.processor("bench", "noop")
async def noop(job: Any) -> None:
    return None
