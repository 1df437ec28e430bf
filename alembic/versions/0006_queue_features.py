"""Queue features: cancelled jobs, per-queue rate and concurrency limits.

`cancelled` is a terminal state of its own, with who cancelled the job (`cancelled_by`;
when is `finished_at`). Cancelled jobs are rare and kept until cleaned, so they are
counted through a partial index that holds them alone.

`pgqueue_queue_limits` holds the limits of the queues that have one. The plain claim
never reads it: a worker claims with a separate statement, under this row's lock, only
for a queue listed here. `recent_starts` is the sliding window of a rate limit: the
start times of the jobs claimed in the last `rate_duration_ms`.

`waiting-children` is reserved in the state check for flows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES_BEFORE = "'waiting', 'active', 'completed', 'failed'"
STATES_AFTER = f"{STATES_BEFORE}, 'cancelled', 'waiting-children'"


def _state_check(states: str) -> None:
    # NOT VALID then VALIDATE: the scan that checks existing rows takes a lock that lets
    # workers go on claiming and completing.
    op.execute("ALTER TABLE pgqueue_jobs DROP CONSTRAINT pgqueue_jobs_state_check")
    op.execute(
        "ALTER TABLE pgqueue_jobs ADD CONSTRAINT pgqueue_jobs_state_check "
        f"CHECK (state IN ({states})) NOT VALID"
    )
    op.execute("ALTER TABLE pgqueue_jobs VALIDATE CONSTRAINT pgqueue_jobs_state_check")


def upgrade() -> None:
    _state_check(STATES_AFTER)
    op.execute("ALTER TABLE pgqueue_jobs ADD COLUMN cancelled_by text")
    op.execute(
        "CREATE INDEX pgqueue_jobs_cancelled ON pgqueue_jobs (queue) WHERE state = 'cancelled'"
    )
    op.execute(
        """
        CREATE TABLE pgqueue_queue_limits (
            queue             text PRIMARY KEY,
            rate_max          integer CHECK (rate_max >= 1),
            rate_duration_ms  integer CHECK (rate_duration_ms >= 1),
            concurrency       integer CHECK (concurrency >= 1),
            recent_starts     timestamptz[] NOT NULL DEFAULT '{}',
            updated_at        timestamptz   NOT NULL DEFAULT now(),
            CHECK ((rate_max IS NULL) = (rate_duration_ms IS NULL))
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE pgqueue_queue_limits")
    op.execute("DROP INDEX pgqueue_jobs_cancelled")
    op.execute("DELETE FROM pgqueue_jobs WHERE state IN ('cancelled', 'waiting-children')")
    op.execute("ALTER TABLE pgqueue_jobs DROP COLUMN cancelled_by")
    _state_check(STATES_BEFORE)
