"""The embedded server of a test session or a benchmark stops when it is done with, and
does not outlive its temporary directory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg

from pgqueue.db.embedded import temporary_embedded


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (an exited child of ours stays a
    zombie until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_temporary_server_stops_before_its_directory_goes() -> None:
    with temporary_embedded("pgqueue-embedded-test-") as url:
        pgdata = Path(parse_qs(urlsplit(url).query)["host"][0])
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert running(postmaster)
    # Stopped (pg_ctl waits for it), not left running on a deleted directory.
    assert not running(postmaster)
    assert not pgdata.exists()
