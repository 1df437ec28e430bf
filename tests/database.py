"""Where the tests' PostgreSQL comes from, and a fresh database per test.

Order: `PGQUEUE_TEST_DATABASE_URL`; else a testcontainers PostgresContainer when a Docker
daemon answers; else the embedded server. A template database is migrated once per run;
each test that needs isolation gets a copy of it, which takes a few milliseconds.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pgqueue.db import migrate
from pgqueue.db.urls import libpq_url

_counter = itertools.count()


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _docker_answers() -> bool:
    """A daemon that accepts a connection; asked over a plain socket first, because the
    docker client leaks its socket when no daemon is there."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                probe.connect(host[len("unix://") :])
        elif host.startswith("tcp://"):
            address, _, port = host[len("tcp://") :].rpartition(":")
            socket.create_connection((address, int(port)), timeout=2).close()
        else:
            return False
    except OSError:
        return False
    import docker

    client = docker.from_env(timeout=3)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    explicit = os.environ.get("PGQUEUE_TEST_DATABASE_URL")
    if explicit:
        yield libpq_url(explicit)
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17", driver=None) as container:
            yield libpq_url(container.get_connection_url())
        return
    from pgqueue.db.embedded import temporary_embedded

    with temporary_embedded("pgqueue-test-") as url:
        yield url


class Databases:
    """Creates the template once, then one database per test from it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.template = f"pgqueue_template_{os.getpid()}"
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}"')
            conn.execute(f'CREATE DATABASE "{self.template}"')
        migrate.upgrade(with_database(url, self.template))

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def create(self) -> str:
        name = f"pgqueue_test_{os.getpid()}_{next(_counter)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def create_empty(self) -> str:
        """A database with nothing in it, for tests that migrate it themselves."""
        name = f"pgqueue_empty_{os.getpid()}_{next(_counter)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop(self.template)
