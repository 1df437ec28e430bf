"""Django: a job added inside `transaction.atomic()` on Django's own connection exists
exactly when the block commits, together with the rows the block wrote."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from pgqueue import SyncJobQueueManager


def configure_django(db_url: str) -> None:
    """A minimal Django on the test's database, with its psycopg 3 backend."""
    from django.conf import settings

    params = conninfo_to_dict(db_url)
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params["dbname"],
        "USER": params.get("user", ""),
        "PASSWORD": params.get("password", ""),
        "HOST": params.get("host", ""),
        "PORT": params.get("port", ""),
    }
    if settings.configured:
        from django.db import connections

        connections.close_all()
        settings.DATABASES["default"].update(database)
        return
    settings.configure(DATABASES={"default": database}, USE_TZ=True)
    import django

    django.setup()


def test_enqueue_inside_transaction_atomic(db_url: str, sync_manager: SyncJobQueueManager) -> None:
    configure_django(db_url)
    from django.db import connection, transaction
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    assert is_psycopg3
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE orders (id serial PRIMARY KEY, total int NOT NULL)")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO orders (total) VALUES (42) RETURNING id")
                order_id = cursor.fetchone()[0]
            job = sync_manager.add_job(
                "email", "receipt", {"order": order_id}, connection=connection
            )
            assert job.data == {"order": order_id}
            # Not committed yet: nobody else (no worker) can see the job.
            assert sync_manager.get_job("email", job.id) is None
        committed = sync_manager.get_job("email", job.id)
        assert committed is not None and committed.data == {"order": order_id}

        with pytest.raises(RuntimeError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO orders (total) VALUES (7)")
            lost = sync_manager.add_job("email", "receipt", {"order": -1}, connection=connection)
            raise RuntimeError("the view failed after enqueueing")
        assert sync_manager.get_job("email", lost.id) is None
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM orders")
            assert cursor.fetchone()[0] == 1

        # A refused enqueue leaves the block usable: it goes on and commits.
        with transaction.atomic():
            with pytest.raises(Exception, match="queue name"):
                sync_manager.add_job("no such queue!", "x", connection=connection)
            kept = sync_manager.add_job("email", "after-error", connection=connection)
        assert sync_manager.get_job("email", kept.id) is not None
    finally:
        connection.close()
