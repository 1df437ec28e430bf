"""Completions notify only when someone waits for one of their jobs.

A transaction that sends NOTIFY takes a lock on the database at commit and keeps it until
its commit is on disk, so that notifications arrive in commit order: every completion
batch sent one (for `wait_for_job`), so the fleet's completion writes went one at a time,
each waiting for the previous one's WAL flush. Now a waiter registers the job it waits
for in `pgqueue_job_waiters`, and a completion batch notifies only if one of its jobs is
registered.

No wake-up is lost. The waiter registers while reading the job `FOR SHARE`, and the
completion statement locks its jobs `FOR UPDATE` before it looks for waiters, in a
function whose query takes a fresh snapshot:
- if the completion locked the job first, the waiter's read waits for its commit and
  then sees the job finished;
- if the waiter read first, the completion's lock waits for the waiter's commit, and its
  look for waiters, made after that, sees the registration.

The table is unlogged (a registration outlives no crash; its waiter does not either), and
rows a waiter could not remove are pruned by the maintenance pass after the longest wait.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE pgqueue_job_waiters (
            job_id bigint      NOT NULL,
            pid    integer     NOT NULL DEFAULT pg_backend_pid(),
            since  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX pgqueue_job_waiters_job ON pgqueue_job_waiters (job_id)")
    op.execute("CREATE INDEX pgqueue_job_waiters_since ON pgqueue_job_waiters (since)")
    # VOLATILE: its query sees waiters registered after the calling statement began.
    op.execute(
        """
        CREATE FUNCTION pgqueue_notify_waiters(channel text, queues text, ids bigint[])
        RETURNS boolean
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pgqueue_job_waiters WHERE job_id = ANY(ids)) THEN
                PERFORM pg_notify(channel, queues);
                RETURN true;
            END IF;
            RETURN false;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION pgqueue_notify_waiters(text, text, bigint[])")
    op.execute("DROP TABLE pgqueue_job_waiters")
