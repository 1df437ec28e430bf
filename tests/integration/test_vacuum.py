"""The worker holding maintenance vacuums the jobs table when dead rows pile up faster
than autovacuum comes by (it looks at a database once a minute by default)."""

from __future__ import annotations

import psycopg

from pgqueue.config import Settings
from pgqueue.manager import worker_service
from pgqueue.manager.worker_service import WorkerService
from tests.helpers import wait_for

DEAD_ROWS = """
SELECT n_dead_tup, last_vacuum IS NOT NULL AS vacuumed
FROM pg_stat_user_tables WHERE relid = 'pgqueue_jobs'::regclass
"""


async def test_dead_rows_past_the_threshold_get_a_vacuum(db_url: str, settings: Settings) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        # This test's own vacuum only: autovacuum could come by any time.
        conn.execute("ALTER TABLE pgqueue_jobs SET (autovacuum_enabled = false)")
        service = await WorkerService.open(db_url, settings, queues=1)
        try:
            assert await service.vacuum_if_due() is False  # nothing dead yet
            conn.execute(
                "INSERT INTO pgqueue_jobs (queue, name, data, opts)"
                " SELECT 'test', 'x', '{}', '{}' FROM generate_series(1, %s)",
                (worker_service.VACUUM_DEAD_ROWS,),
            )
            conn.execute("DELETE FROM pgqueue_jobs WHERE queue = 'test'")

            def counted() -> bool:  # the statistics lag a second or so behind
                row = conn.execute(DEAD_ROWS).fetchone()
                return row is not None and row[0] >= worker_service.VACUUM_DEAD_ROWS

            await wait_for(counted, timeout=30, interval=0.2)
            assert await service.vacuum_if_due() is True

            def vacuumed() -> bool:
                row = conn.execute(DEAD_ROWS).fetchone()
                return row is not None and row[1] and row[0] < 1000

            await wait_for(vacuumed, timeout=30, interval=0.2)
            # Vacuumed a moment ago: not again until the quiet time has passed.
            assert await service.vacuum_if_due() is False
        finally:
            await service.close()
