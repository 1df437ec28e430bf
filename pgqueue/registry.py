"""Which function processes which jobs.

A processor is registered for a queue and a job name, or for every name in the queue
(`"*"`). Workers look up the exact name first, then the catch-all. The default registry
is what `@pgqueue.processor` and `job_queue_manager.process_jobs` fill and what
`pgqueue worker` runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pgqueue.config import queue_config
from pgqueue.errors import InvalidJobError
from pgqueue.options import validate_name, validate_queue

ANY_NAME = "*"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Registration:
    queue: str
    name: str
    fn: Callable[[Any], Any]
    concurrency: int | None

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


class Registry:
    def __init__(self) -> None:
        self._processors: dict[tuple[str, str], Registration] = {}

    def add(
        self, queue: str, name: str, fn: Callable[[Any], Any], concurrency: int | None = None
    ) -> Registration:
        validate_queue(queue)
        validate_name(name)
        if not callable(fn):
            raise InvalidJobError(f"processor for {queue}/{name} must be callable, got {fn!r}")
        if concurrency is not None and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            raise InvalidJobError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
        registration = Registration(queue, name, fn, concurrency)
        self._processors[(queue, name)] = registration
        return registration

    def find(self, queue: str, name: str) -> Registration | None:
        return self._processors.get((queue, name)) or self._processors.get((queue, ANY_NAME))

    def concurrency(self, queue: str) -> int:
        """The largest concurrency a processor of the queue asked for, else the queue's."""
        asked = [
            r.concurrency
            for (q, _), r in self._processors.items()
            if q == queue and r.concurrency is not None
        ]
        return max(asked) if asked else queue_config(queue).concurrency

    def registrations(self) -> list[Registration]:
        return list(self._processors.values())

    def queues(self) -> list[str]:
        return sorted({q for q, _ in self._processors})

    def copy(self) -> Registry:
        clone = Registry()
        clone._processors = dict(self._processors)
        return clone


default_registry = Registry()


def processor(queue: str, name: str = ANY_NAME, concurrency: int | None = None) -> Callable[[F], F]:
    """Register `fn(job)` for jobs named `name` in `queue` (every name by default)."""

    def decorate(fn: F) -> F:
        default_registry.add(queue, name, fn, concurrency)
        return fn

    return decorate
