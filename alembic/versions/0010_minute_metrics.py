"""Per-minute metrics that outlive retention: jobs completed and failed, median wait
(ready to started) and median run time, per queue and for all queues together.

A statement-level trigger appends one row per (queue, minute) per statement that
finishes jobs, with the statement's wait and run times in arrays: appending never
updates a shared row, so workers finishing jobs at once never queue on a counter (the
same reasoning as `pgqueue_finished_counts` in 0004). The worker's maintenance pass
folds closed minutes into `pgqueue_minute_metrics`, one row per (queue, minute) with
exact medians, and drops rows older than the kept window; the metrics query reads the
folded rows and, for minutes not folded yet, the appended ones. A job counts in the
statement that finishes it (`finished_at = now()` there), so retention deleting it later,
or `remove_on_complete` deleting it at once, takes nothing from its minute.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pgqueue_minute_deltas (
            queue      text        NOT NULL,
            minute     timestamptz NOT NULL,
            completed  integer     NOT NULL,
            failed     integer     NOT NULL,
            wait_ms    double precision[] NOT NULL,
            run_ms     double precision[] NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX pgqueue_minute_deltas_minute ON pgqueue_minute_deltas (minute)")
    op.execute(
        """
        CREATE TABLE pgqueue_minute_metrics (
            queue          text        NOT NULL,
            minute         timestamptz NOT NULL,
            completed      integer     NOT NULL,
            failed         integer     NOT NULL,
            wait_median_ms double precision,
            run_median_ms  double precision,
            PRIMARY KEY (queue, minute)
        )
        """
    )
    op.execute("CREATE INDEX pgqueue_minute_metrics_minute ON pgqueue_minute_metrics (minute)")
    # Only rows this statement finished: their finished_at is this transaction's now().
    # A claim or any other update finds none and inserts nothing.
    op.execute(
        """
        CREATE FUNCTION pgqueue_count_minutes() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO pgqueue_minute_deltas (queue, minute, completed, failed, wait_ms, run_ms)
            SELECT queue, date_trunc('minute', finished_at),
                   count(*) FILTER (WHERE state = 'completed'),
                   count(*) FILTER (WHERE state = 'failed'),
                   coalesce(array_agg(
                       greatest(0, extract(epoch FROM processed_at - run_at) * 1000)::float8
                   ) FILTER (WHERE processed_at IS NOT NULL), '{}'),
                   coalesce(array_agg(
                       greatest(0, extract(epoch FROM finished_at - processed_at) * 1000)::float8
                   ) FILTER (WHERE processed_at IS NOT NULL), '{}')
            FROM new_rows
            WHERE state IN ('completed', 'failed') AND finished_at = now()
            GROUP BY queue, date_trunc('minute', finished_at);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER pgqueue_count_minutes AFTER UPDATE ON pgqueue_jobs "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_minutes()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER pgqueue_count_minutes ON pgqueue_jobs")
    op.execute("DROP FUNCTION pgqueue_count_minutes()")
    op.execute("DROP TABLE pgqueue_minute_metrics")
    op.execute("DROP TABLE pgqueue_minute_deltas")
