"""Alembic environment for pgqueue's own schema.

pgqueue keeps its own version table (`pgqueue_alembic_version`) so it can live in a
database whose application also uses Alembic. Migrations run in one transaction under a
transaction-level advisory lock, so several processes starting at once (`pgqueue run`
on two hosts) migrate exactly once, also through a transaction pooler.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from pgqueue.db.urls import sqlalchemy_url

VERSION_TABLE = "pgqueue_alembic_version"
MIGRATION_LOCK = 7_405_315_001


def _url() -> str:
    url = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        from pgqueue.db.connect import resolve_database_url

        url = resolve_database_url()
    return sqlalchemy_url(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), version_table=VERSION_TABLE, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    from pgqueue.db.migrate import CONNECT_ARGS

    engine = create_engine(_url(), connect_args=CONNECT_ARGS)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, version_table=VERSION_TABLE)
            with context.begin_transaction():
                # A transaction-level lock: released by COMMIT/ROLLBACK, so it is safe
                # through a transaction pooler too. The version is read after it is held.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
