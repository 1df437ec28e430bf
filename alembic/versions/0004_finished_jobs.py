"""Finished jobs: counted as they come and go, indexed only where they are looked for.

`pgqueue_jobs_finished` indexed every row version, so enqueueing, claiming and completing
each wrote an entry that no query reads for unfinished jobs. It now holds finished jobs
only, with the id that breaks ties in retention order. `pgqueue_jobs_prunable` holds the
finished jobs that retention may delete (those with a count or an age to keep), so that
a maintenance pass never walks jobs kept forever, however many there are.

Queue stats must stay fast with millions of finished jobs kept, so completed and failed
jobs are counted, not scanned: statement-level triggers append one signed delta per
(queue, state) per statement to `pgqueue_finished_counts`, in the same transaction as the
rows they count, and maintenance folds the deltas together. Appending, never updating a
shared row, keeps concurrent workers from queueing on a counter; triggers keep the counts
true whatever writes the rows, an operator's SQL included.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINISHED = "state IN ('completed', 'failed')"


def upgrade() -> None:
    op.execute("DROP INDEX pgqueue_jobs_finished")
    op.execute(
        "CREATE INDEX pgqueue_jobs_finished ON pgqueue_jobs (queue, state, finished_at, id) "
        f"WHERE {FINISHED}"
    )
    op.execute(
        """
        CREATE INDEX pgqueue_jobs_prunable ON pgqueue_jobs (queue, state)
        WHERE (state = 'completed'
               AND (keep_completed IS NOT NULL OR keep_completed_age IS NOT NULL))
           OR (state = 'failed' AND (keep_failed IS NOT NULL OR keep_failed_age IS NOT NULL))
        """
    )
    op.execute(
        """
        CREATE TABLE pgqueue_finished_counts (
            queue  text   NOT NULL,
            state  text   NOT NULL CHECK (state IN ('completed', 'failed')),
            n      bigint NOT NULL
        )
        """
    )
    # One function for the three kinds of statement; each trigger names only the
    # transition tables its kind has, and PL/pgSQL plans a branch only when it runs.
    op.execute(
        f"""
        CREATE FUNCTION pgqueue_count_finished() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO pgqueue_finished_counts (queue, state, n)
                SELECT queue, state, count(*) FROM new_rows WHERE {FINISHED}
                GROUP BY queue, state;
            ELSIF TG_OP = 'DELETE' THEN
                INSERT INTO pgqueue_finished_counts (queue, state, n)
                SELECT queue, state, -count(*) FROM old_rows WHERE {FINISHED}
                GROUP BY queue, state;
            ELSIF TG_OP = 'UPDATE' THEN
                INSERT INTO pgqueue_finished_counts (queue, state, n)
                SELECT queue, state, sum(d) FROM (
                    SELECT queue, state, 1 AS d FROM new_rows WHERE {FINISHED}
                    UNION ALL
                    SELECT queue, state, -1 FROM old_rows WHERE {FINISHED}
                ) AS changes
                GROUP BY queue, state
                HAVING sum(d) <> 0;
            ELSE
                DELETE FROM pgqueue_finished_counts;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER pgqueue_count_finished_insert AFTER INSERT ON pgqueue_jobs "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_finished()"
    )
    op.execute(
        "CREATE TRIGGER pgqueue_count_finished_update AFTER UPDATE "
        "ON pgqueue_jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_finished()"
    )
    op.execute(
        "CREATE TRIGGER pgqueue_count_finished_delete AFTER DELETE ON pgqueue_jobs "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_finished()"
    )
    op.execute(
        "CREATE TRIGGER pgqueue_count_finished_truncate AFTER TRUNCATE ON pgqueue_jobs "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_finished()"
    )
    # The triggers exist before the count is taken, and creating them locks out writers
    # until this transaction commits: no job is missed or counted twice.
    op.execute(
        "INSERT INTO pgqueue_finished_counts (queue, state, n) "
        f"SELECT queue, state, count(*) FROM pgqueue_jobs WHERE {FINISHED} GROUP BY queue, state"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER pgqueue_count_finished_truncate ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_count_finished_delete ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_count_finished_update ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_count_finished_insert ON pgqueue_jobs")
    op.execute("DROP FUNCTION pgqueue_count_finished()")
    op.execute("DROP TABLE pgqueue_finished_counts")
    op.execute("DROP INDEX pgqueue_jobs_prunable")
    op.execute("DROP INDEX pgqueue_jobs_finished")
    op.execute("CREATE INDEX pgqueue_jobs_finished ON pgqueue_jobs (queue, state, finished_at)")
