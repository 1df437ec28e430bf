"""The job handed to a processor: the stored job plus what a running job can do.

Processors written for Bull call `job.progress(n)`; BullMQ's spelling is
`job.update_progress(n)`. Both work from `async def` processors (await them) and from
plain `def` processors, which run in a thread and block until the write is done.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any

from pgqueue.config import Settings
from pgqueue.models import Job
from pgqueue.options import encode_json

Writer = Callable[[str, Any], Coroutine[Any, Any, None]]
ChildrenReader = Callable[[int], Coroutine[Any, Any, dict[str, Any]]]


class _Done:
    """What a progress call returns in a thread: awaiting it is harmless."""

    def __await__(self) -> Any:
        return iter(())


class RunningJob:
    """A leased job as its processor sees it."""

    def __init__(
        self,
        job: Job,
        lease: uuid.UUID,
        write: Writer,
        loop: asyncio.AbstractEventLoop,
        *,
        database_url: str,
        settings: Settings,
        cancelled: Collection[int] = frozenset(),
        read_children: ChildrenReader | None = None,
    ):
        self.job = job
        self.lease = lease
        self.database_url = database_url
        """The worker's database, for processors that read or write rows of their own."""
        self.settings = settings
        """The worker's settings (SMTP, artifacts and template directories, ...)."""
        self._write = write
        self._loop = loop
        self._progress: Any = job.progress
        self._cancelled = cancelled
        self._read_children = read_children

    # The stored job's fields, as attributes, as in Bull.
    @property
    def id(self) -> str:
        return self.job.id

    @property
    def queue(self) -> str:
        return self.job.queue

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def data(self) -> Any:
        return self.job.data

    @property
    def opts(self) -> dict[str, Any]:
        return self.job.opts

    @property
    def attempts_made(self) -> int:
        return self.job.attempts_made

    @property
    def max_attempts(self) -> int:
        return self.job.max_attempts

    @property
    def timestamp(self) -> int | None:
        return self.job.timestamp

    @property
    def cancel_requested(self) -> bool:
        """True once `cancel_job` ended this job. A plain `def` processor checks it and
        stops early; whatever it returns then is not recorded."""
        return int(self.job.id) in self._cancelled

    def children_values(self) -> Any:
        """A flow parent's `{child id: return value}`, one per completed child. Await it
        in an `async def` processor; a plain `def` processor gets the dict."""
        if self._read_children is None:
            raise RuntimeError("this job was not claimed by a worker")
        coro = self._read_children(int(self.job.id))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return asyncio.ensure_future(coro)
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _submit(self, kind: str, value: Any) -> Awaitable[None]:
        coro = self._write(kind, value)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return asyncio.ensure_future(coro)
        asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        return _Done()

    def progress(self, value: Any = None) -> Any:
        """`progress()` returns the last value; `progress(n)` stores `n` (a number or any
        JSON value) and returns an awaitable in async code."""
        if value is None:
            return self._progress
        return self.update_progress(value)

    def update_progress(self, value: Any) -> Awaitable[None]:
        encoded = encode_json(value, "progress")
        self._progress = value
        return self._submit("progress", encoded)

    def log(self, message: str) -> Awaitable[None]:
        """Append a line to the job's log, shown by the API and the dashboard."""
        return self._submit("log", str(message))

    def __repr__(self) -> str:
        return f"<RunningJob {self.queue}/{self.name} id={self.id}>"
