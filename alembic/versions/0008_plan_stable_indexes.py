"""Indexes whose use does not hang on row estimates.

`pgqueue_jobs_active` covered `state = 'active'`, so every statement of the hot path (they
all check that a job is still active) could use it. With statistics taken while few jobs
were active, the planner estimated it at one row and drove completions from it, matching
each job of a batch against every active job: a backlog of active jobs then made every
batch slower, which grew the backlog. The index of jobs held by workers is now keyed on
what only the claim sets and only claims and rescue ask for, `worker_id IS NOT NULL`, so
the hot path's statements find their rows by primary key whatever the estimates say.
Completions now clear `worker_id` as every other way out of `active` already did.

Retention walked every finished job it might delete, to rank them, on each pass.
`pgqueue_jobs_prunable` now orders the jobs kept for a count, and
`pgqueue_jobs_expirable` the jobs kept for an age, by finish time within their queue and
state, so a pass reads the oldest few of each and stops: its cost follows its batch.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT_FOR_COUNT = (
    "(state = 'completed' AND keep_completed IS NOT NULL)"
    " OR (state = 'failed' AND keep_failed IS NOT NULL)"
)
KEPT_FOR_AGE = (
    "(state = 'completed' AND keep_completed_age IS NOT NULL)"
    " OR (state = 'failed' AND keep_failed_age IS NOT NULL)"
)


def upgrade() -> None:
    op.execute(
        "UPDATE pgqueue_jobs SET worker_id = NULL WHERE worker_id IS NOT NULL AND state <> 'active'"
    )
    op.execute("DROP INDEX pgqueue_jobs_active")
    op.execute(
        "CREATE INDEX pgqueue_jobs_held ON pgqueue_jobs (worker_id) WHERE worker_id IS NOT NULL"
    )
    op.execute("DROP INDEX pgqueue_jobs_prunable")
    op.execute(
        "CREATE INDEX pgqueue_jobs_prunable ON pgqueue_jobs (queue, state, finished_at, id) "
        f"WHERE {KEPT_FOR_COUNT}"
    )
    op.execute(
        "CREATE INDEX pgqueue_jobs_expirable ON pgqueue_jobs (queue, state, finished_at, id) "
        f"WHERE {KEPT_FOR_AGE}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX pgqueue_jobs_expirable")
    op.execute("DROP INDEX pgqueue_jobs_prunable")
    op.execute(
        """
        CREATE INDEX pgqueue_jobs_prunable ON pgqueue_jobs (queue, state)
        WHERE (state = 'completed'
               AND (keep_completed IS NOT NULL OR keep_completed_age IS NOT NULL))
           OR (state = 'failed' AND (keep_failed IS NOT NULL OR keep_failed_age IS NOT NULL))
        """
    )
    op.execute("DROP INDEX pgqueue_jobs_held")
    op.execute(
        "CREATE INDEX pgqueue_jobs_active ON pgqueue_jobs (worker_id) WHERE state = 'active'"
    )
