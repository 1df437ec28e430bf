"""A job's options are stored as the JSON text they were written as.

Every job carries its resolved options (priority, attempts, backoff, retention, ...),
about 130 bytes that pgqueue itself writes and reads back whole; no query looks inside
them except a flow child's trigger, for one key. As jsonb, each job paid for them twice
on the server: parsing into jsonb's binary form on insert (keys sorted, every number
converted to `numeric`) and printing back to text on every claim, plus about 70 bytes
more per row version, of which each job writes three: in `add_bulk`, a sixth of the
server's CPU per job. `json` keeps the text as given, checked once as it is stored,
and hands it back as is. Operators lose nothing they used: `->`, `->>` and `json_each`
work the same; only jsonb's containment and equality operators go.

Not a rolling upgrade: the previous release's enqueue statement and bulk COPY are
written for jsonb and fail on the new column, and the change rewrites the table and
rebuilds its indexes under an exclusive lock. Stop every process that runs pgqueue,
migrate, then start the new release (the CHANGELOG says so).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE pgqueue_jobs "
        "ALTER COLUMN opts DROP DEFAULT, "
        "ALTER COLUMN opts TYPE json USING opts::json, "
        "ALTER COLUMN opts SET DEFAULT '{}'::json"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE pgqueue_jobs "
        "ALTER COLUMN opts DROP DEFAULT, "
        "ALTER COLUMN opts TYPE jsonb USING opts::jsonb, "
        "ALTER COLUMN opts SET DEFAULT '{}'::jsonb"
    )
