"""Python's cyclic garbage collector, set up for a long-running pgqueue process.

A worker makes a few container objects per job (the job, its task and coroutine, its
handle) that reference counting frees once the job is recorded. At the collector's
default, a young-generation pass every 700 net allocations, a flood of short jobs runs a
pass every few dozen jobs, each walking the jobs still in flight, and the older passes
walk everything startup built (modules, classes, settings), which never becomes
garbage. A pass every 10,000 allocations, with startup's objects frozen out of every
pass, took a twelfth off a worker's CPU per no-op job (docs/benchmarks.md, item 26).

Only the commands that own their process (`pgqueue worker`, `run`, `api`, `scheduler`)
do this; a `Worker` embedded in an application leaves that process's collector alone.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Net allocations between young-generation passes (Python's default: 700)."""


def set_up_for_service() -> None:
    """Collect once, freeze what survives, and make young passes rarer. Garbage made
    before the freeze is collected first: a frozen object is never freed."""
    if not gc.isenabled():
        return
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
