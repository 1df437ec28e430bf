"""Run pgqueue's Alembic revisions from a checkout or an installed wheel.

A wheel carries the top-level `alembic/` folder as `pgqueue/migrations` (see
pyproject.toml); a checkout uses the folder itself. Either way no `alembic.ini` is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from pgqueue.db.connect import ATTEMPT_SECONDS
from pgqueue.db.urls import sqlalchemy_url

VERSION_TABLE = "pgqueue_alembic_version"

CONNECT_ARGS = {"prepare_threshold": None, "connect_timeout": ATTEMPT_SECONDS}
"""Migrations may run through a transaction pooler (no direct URL given): no prepared
statements, and an unreachable server fails in seconds rather than minutes."""


def script_location() -> Path:
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "migrations", package.parent / "alembic"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("pgqueue's migrations are missing from this installation")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database is at, None when pgqueue was never migrated there."""
    engine = create_engine(sqlalchemy_url(url), connect_args=CONNECT_ARGS)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        engine.dispose()
