"""Autovacuum that keeps pace with a queue table.

Every job is inserted, updated twice (claimed, finished) and usually deleted by retention:
three dead row versions per job, at thousands of jobs a second. PostgreSQL's defaults
vacuum a table once a fifth of it is dead and throttle the vacuum, which suits tables
that change slowly; on the jobs table they let dead rows and index pages pile up between
passes, and every claim, count and prune walks past them. Vacuum it after a much smaller
share has changed, and at full speed (it is the table that needs it most).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_vacuum_insert_scale_factor": "0.01",
    "autovacuum_analyze_scale_factor": "0.02",
    "autovacuum_vacuum_cost_delay": "0",
}


def upgrade() -> None:
    pairs = ", ".join(f"{k} = {v}" for k, v in SETTINGS.items())
    op.execute(f"ALTER TABLE pgqueue_jobs SET ({pairs})")


def downgrade() -> None:
    op.execute(f"ALTER TABLE pgqueue_jobs RESET ({', '.join(SETTINGS)})")
