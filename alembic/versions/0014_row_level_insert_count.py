"""Adding jobs stops paying for the count of finished ones.

Revision 0004 counts finished jobs with statement-level triggers over transition tables.
On insert, that trigger kept a copy of every row a statement added and then scanned the
copy for finished ones, of which an `add_bulk` has none: about a tenth of a bulk's time
on the server. The insert side is now a row-level trigger whose `WHEN` clause lets a row
through only if it is inserted finished (an operator's SQL, say); Postgres tests the
clause as it writes the row and queues nothing for the others. Such a row appends its own
delta, which maintenance folds as before. Updates and deletes keep their statement-level
triggers: a completion batch finishes many jobs at once, and one delta per statement is
what keeps workers from writing a row per job.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION pgqueue_count_finished_row() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO pgqueue_finished_counts (queue, state, n)
            VALUES (NEW.queue, NEW.state, 1);
            RETURN NULL;
        END
        $$
        """
    )
    # Dropped and created in one transaction, which locks out writers until it commits:
    # no insert is counted twice or missed.
    op.execute("DROP TRIGGER pgqueue_count_finished_insert ON pgqueue_jobs")
    op.execute(
        "CREATE TRIGGER pgqueue_count_finished_insert AFTER INSERT ON pgqueue_jobs "
        "FOR EACH ROW WHEN (NEW.state IN ('completed', 'failed')) "
        "EXECUTE FUNCTION pgqueue_count_finished_row()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER pgqueue_count_finished_insert ON pgqueue_jobs")
    op.execute(
        "CREATE TRIGGER pgqueue_count_finished_insert AFTER INSERT ON pgqueue_jobs "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_finished()"
    )
    op.execute("DROP FUNCTION pgqueue_count_finished_row()")
