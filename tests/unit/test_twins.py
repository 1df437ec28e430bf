"""The generator of the blocking twins (tools/twins.py), and that the twins are current."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.helpers import ROOT


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("twins", ROOT / "tools" / "twins.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCE = '''"""Async module docstring."""

from pgqueue.store.aio import AsyncStore


class JobQueueManager:
    async def add(self, store: AsyncStore) -> int:
        """Add through `AsyncStore`; `asyncio` stays as it is."""
        async with store.pool.connection() as conn:
            async for row in conn.notifies():
                await conn.execute("SELECT 1")  # an AsyncStore comment
        return await store.run(1)

    async def __aenter__(self) -> JobQueueManager:
        return self
'''


def test_async_and_await_go_and_names_become_their_blocking_twins() -> None:
    twins = load_generator()
    out = twins.unasync(SOURCE, "pgqueue/manager/aio.py")
    assert out.startswith('"""Generated from `pgqueue/manager/aio.py` by `make twins`')
    assert "async" not in out.replace("asyncio", "") and "await" not in out
    assert "from pgqueue.store.sync import SyncStore" in out
    assert "class SyncJobQueueManager:" in out
    assert "def add(self, store: SyncStore) -> int:" in out
    assert "with store.pool.connection() as conn:" in out
    assert "for row in conn.notifies():" in out
    assert '"""Add through `SyncStore`; `asyncio` stays as it is."""' in out
    assert "# an SyncStore comment" in out
    assert "def __enter__(self) -> SyncJobQueueManager:" in out


def test_the_committed_twins_are_what_their_sources_generate() -> None:
    twins = load_generator()
    for source, target in twins.TWINS.items():
        wanted = twins.unasync((ROOT / source).read_text(), source)
        assert Path(ROOT / target).read_text() == wanted, f"{target} is stale: run make twins"
