"""Repeating jobs: one row per schedule, read by every scheduler process.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `version` moves only when the definition changes, so schedulers re-read a schedule
    # only then. `fired_through` is the latest slot already handled: a fire claims its slot
    # by moving it forward, which is what makes N schedulers produce one job per slot.
    op.execute(
        """
        CREATE TABLE pgqueue_schedules (
            key            text PRIMARY KEY,
            queue          text        NOT NULL,
            name           text        NOT NULL,
            cron           text,
            every_ms       bigint      CHECK (every_ms >= 1),
            tz             text        NOT NULL DEFAULT 'UTC',
            data           jsonb       NOT NULL DEFAULT '{}',
            opts           jsonb       NOT NULL DEFAULT '{}',
            limit_count    integer     CHECK (limit_count >= 1),
            start_at       timestamptz,
            end_at         timestamptz,
            fired_count    integer     NOT NULL DEFAULT 0,
            fired_through  timestamptz NOT NULL DEFAULT now(),
            last_fired_at  timestamptz,
            version        bigint      NOT NULL DEFAULT 1,
            created_at     timestamptz NOT NULL DEFAULT now(),
            updated_at     timestamptz NOT NULL DEFAULT now(),
            CHECK ((cron IS NULL) <> (every_ms IS NULL))
        )
        """
    )
    # The daily old-logs cleanup finds what to archive by age.
    op.execute("CREATE INDEX pgqueue_job_logs_created ON pgqueue_job_logs (created_at)")


def downgrade() -> None:
    op.execute("DROP INDEX pgqueue_job_logs_created")
    op.execute("DROP TABLE pgqueue_schedules")
