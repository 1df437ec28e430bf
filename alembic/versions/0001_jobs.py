"""Jobs, queues, workers and job logs: the core engine's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pgqueue_jobs (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            queue           text        NOT NULL,
            name            text        NOT NULL,
            data            jsonb       NOT NULL,
            opts            jsonb       NOT NULL DEFAULT '{}',
            state           text        NOT NULL DEFAULT 'waiting'
                CHECK (state IN ('waiting', 'active', 'completed', 'failed')),
            priority        smallint    NOT NULL DEFAULT 3,
            run_at          timestamptz NOT NULL DEFAULT now(),
            attempts_made   integer     NOT NULL DEFAULT 0,
            max_attempts    integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
            progress        jsonb,
            return_value    jsonb,
            failed_reason   text,
            stacktrace      text[]      NOT NULL DEFAULT '{}',
            key             text,
            lease           uuid,
            worker_id       uuid,
            keep_completed      integer,
            keep_completed_age  integer,
            keep_failed         integer,
            keep_failed_age     integer,
            created_at      timestamptz NOT NULL DEFAULT now(),
            processed_at    timestamptz,
            finished_at     timestamptz
        )
        """
    )
    # The claim reads only this index: ready rows, in claim order. Finished rows are
    # not in it, so a million kept completed jobs cost the claim nothing.
    op.execute(
        "CREATE INDEX pgqueue_jobs_ready ON pgqueue_jobs (queue, priority, run_at, id) "
        "WHERE state = 'waiting'"
    )
    op.execute(
        "CREATE INDEX pgqueue_jobs_active ON pgqueue_jobs (worker_id) WHERE state = 'active'"
    )
    op.execute("CREATE INDEX pgqueue_jobs_finished ON pgqueue_jobs (queue, state, finished_at)")
    op.execute(
        "CREATE UNIQUE INDEX pgqueue_jobs_key ON pgqueue_jobs (queue, key) WHERE key IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE pgqueue_queues (
            name        text PRIMARY KEY,
            paused      boolean     NOT NULL DEFAULT false,
            updated_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE pgqueue_workers (
            id            uuid PRIMARY KEY,
            hostname      text        NOT NULL,
            pid           integer     NOT NULL,
            queues        text[]      NOT NULL,
            started_at    timestamptz NOT NULL DEFAULT now(),
            heartbeat_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE pgqueue_job_logs (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            job_id      bigint      NOT NULL REFERENCES pgqueue_jobs (id) ON DELETE CASCADE,
            created_at  timestamptz NOT NULL DEFAULT now(),
            message     text        NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX pgqueue_job_logs_job ON pgqueue_job_logs (job_id, id)")


def downgrade() -> None:
    op.execute("DROP TABLE pgqueue_job_logs")
    op.execute("DROP TABLE pgqueue_workers")
    op.execute("DROP TABLE pgqueue_queues")
    op.execute("DROP TABLE pgqueue_jobs")
