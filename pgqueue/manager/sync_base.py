"""The blocking manager's pool: opened on first use, shared by every thread.

The hand-written counterpart of `aio_base.py`; see there.
"""

from __future__ import annotations

import threading
from typing import Self, TypeVar

from pgqueue.config import Settings
from pgqueue.db.connect import resolve_database_url, session_url
from pgqueue.models import Job
from pgqueue.registry import Registry, default_registry
from pgqueue.store import feature_ops, waiting
from pgqueue.store.ops import Op
from pgqueue.store.sync import SyncStore, open_store

T = TypeVar("T")


class SyncManagerBase:
    """Every method blocks; one manager is safe to share between threads."""

    def __init__(
        self,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        registry: Registry | None = None,
        pool_size: int = 10,
    ) -> None:
        self._database_url = database_url
        self._settings = settings
        self.registry = registry if registry is not None else default_registry
        self._pool_size = pool_size
        self._store: SyncStore | None = None
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def database_url(self) -> str:
        return resolve_database_url(self._database_url)

    def _open(self) -> SyncStore:
        with self._lock:
            if self._store is None:
                self._store = open_store(
                    resolve_database_url(self._database_url),
                    self.settings,
                    max_size=self._pool_size,
                )
            return self._store

    def _run(self, op: Op[T]) -> T:
        store = self._open()
        return store.run(op)

    def _wait_until_finished(self, queue: str, job_id: str | int, timeout: float) -> Job:
        """Blocking twin of `AsyncManagerBase._wait_until_finished`."""
        store = self._open()
        url = self.database_url
        listen = session_url(url, self.settings)

        def read() -> Job | None:
            return store.run(feature_ops.job_outcome(queue, job_id))

        if listen is None:
            interval = self.settings.poll_interval
            return waiting.poll_sync(read, queue, job_id, timeout, interval)
        return waiting.wait_sync(listen, read, queue, job_id, timeout)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
