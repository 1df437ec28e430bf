"""A real PgBouncer in transaction mode in front of the tests' server.

Debian's `pgbouncer` package (`.ci/run` installs it where it is missing). It refuses to
run as root, so as root its config names an unprivileged user to switch to, and its
files live in a directory that user can read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict


def _run_as(server: dict[str, Any]) -> str:
    """As root: the user owning the server's socket directory (the embedded server's
    own user, who alone may enter its data directory), else `nobody`."""
    import pwd

    host = str(server.get("host") or "")
    if host.startswith("/") and os.path.isdir(host) and os.stat(host).st_uid != 0:
        return pwd.getpwuid(os.stat(host).st_uid).pw_name
    return "nobody"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ini(server_url: str, port: int, folder: Path) -> str:
    server = conninfo_to_dict(server_url)
    backend = f"host={server.get('host') or 'localhost'} port={server.get('port') or 5432}"
    run_as = f"user = {_run_as(server)}\n" if os.geteuid() == 0 else ""
    return f"""[databases]
* = {backend}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
server_reset_query =
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
{run_as}"""


@contextlib.contextmanager
def pgbouncer(server_url: str) -> Iterator[str]:
    """Start PgBouncer for `server_url`'s server; yield a URL template with a `{db}`
    placeholder for the database name, e.g. `postgresql://postgres@127.0.0.1:6432/{db}`."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        raise RuntimeError("pgbouncer is not installed (the project's .ci/run installs it)")
    user = conninfo_to_dict(server_url).get("user") or "postgres"
    with tempfile.TemporaryDirectory(prefix="pgqueue-pgbouncer-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o777)
        port = free_port()
        (folder / "userlist.txt").write_text(f'"{user}" ""\n')
        ini = folder / "pgbouncer.ini"
        ini.write_text(_ini(server_url, port, folder))
        for path in folder.iterdir():
            path.chmod(0o644)
        process = subprocess.Popen(
            [binary, str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        template = f"postgresql://{user}@127.0.0.1:{port}/{{db}}"
        try:
            _wait_until_up(process, template.format(db="postgres"), folder)
            yield template
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], url: str, folder: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            log = folder / "pgbouncer.log"
            detail = log.read_text() if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited: {detail}")
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
