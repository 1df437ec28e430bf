"""Every Python snippet in the README runs, against a real database.

A snippet whose first line is a `# path.py` comment is a module: it is written to that
path and imported by the snippets and commands that follow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgqueue import JobQueueManager, JobState
from tests.helpers import ROOT, job_in, wait_for

BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
MODULE = re.compile(r"# ([\w/]+\.py)\n")


def snippets() -> list[str]:
    return BLOCK.findall((ROOT / "README.md").read_text())


def write_modules(where: Path) -> None:
    for code in snippets():
        header = MODULE.match(code)
        if header:
            path = where / header.group(1)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
            (path.parent / "__init__.py").touch()


def env(db_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def report_worker(db_url: str, tmp_path: Path) -> Iterator[None]:
    """Snippets that wait for a report need a worker, as the README says."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "pgqueue", "worker", "--queue", "report"],
        cwd=tmp_path,
        env=env(db_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield
    worker.terminate()
    worker.wait(30)


@pytest.mark.parametrize("index", range(len(snippets())))
def test_snippet_runs(index: int, db_url: str, tmp_path: Path, report_worker: None) -> None:
    code = snippets()[index]
    write_modules(tmp_path)
    if MODULE.match(code):
        code = f"import {MODULE.match(code).group(1)[:-3].replace('/', '.')}"  # type: ignore[union-attr]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


async def test_readme_processor_runs_in_a_worker(
    db_url: str, tmp_path: Path, manager: JobQueueManager
) -> None:
    write_modules(tmp_path)
    job = await manager.add_job("analytics", "custom-job", {"values": [1, 2, 3]})
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pgqueue",
            "worker",
            "--queue",
            "analytics",
            "--import",
            "myapp.jobs",
        ],
        cwd=tmp_path,
        env=env(db_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        done = await wait_for(
            lambda: job_in(manager, "analytics", job.id, JobState.COMPLETED), timeout=60
        )
    finally:
        worker.terminate()
        worker.wait(30)
    assert done.return_value == {"total": 6}
    assert done.progress == 100
    logs = await manager.get_job_logs("analytics", job.id)
    assert [entry["message"] for entry in logs] == ["summed 3 values"]


async def test_rollback_snippet_keeps_only_the_committed_job(
    db_url: str, tmp_path: Path, manager: JobQueueManager
) -> None:
    """Exiting 0 is not enough: the committed signup's job exists, the rolled-back one not."""
    [code] = [c for c in snippets() if "session.rollback()" in c]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env(db_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    jobs = await manager.get_jobs("email", "waiting")
    assert [(j.name, j.data) for j in jobs] == [("welcome", {"to": "new@example.com"})]
