"""The user-visible state of a job, defined once, in SQL.

A row's `state` column holds what the engine needs (waiting, active, completed,
failed). What a user sees adds two derived states, as in Bull: a waiting row whose run
time is still ahead is `delayed`, and a ready row of a paused queue is `paused`.
`pgqueue_job_state` is that derivation; the inspecting, dashboard, admin and report
queries call it rather than repeat it. It is a plain SQL expression marked STABLE, so
the planner inlines it. The engine's claim and completion statements do not use it:
they select on the stored state through partial indexes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION pgqueue_job_state(state text, run_at timestamptz, queue_paused boolean)
        RETURNS text
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$
            SELECT CASE
                WHEN state <> 'waiting' THEN state
                WHEN run_at > now() THEN 'delayed'
                WHEN queue_paused THEN 'paused'
                ELSE 'waiting'
            END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION pgqueue_job_state(text, timestamptz, boolean)")
