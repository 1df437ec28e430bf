"""The ready index is keyed on a hash of the queue's name, not on the name itself.

Every job inserted into the ready index (`queue, priority, run_at, id`) is placed by
comparing it with the entries already there, and a key that starts with a variable-length
text makes each of those comparisons find every later column by walking the entry from
its start. That was most of the cost of the index, and the index most of a bulk load's
server CPU besides the row itself. Keyed on `hashtext(queue)`, an `int4`, every column
of the key sits at a fixed offset: a tenth less server CPU per row in a bulk load, and
5-16 % more jobs a second from 5,000-job `add_bulk` calls (docs/benchmarks.md, item 34).

The name is still in each entry (`INCLUDE`), so counts by queue read the index alone,
and every statement that reads one queue's ready jobs names both the hash (to find
them) and the name (two names may share a hash; their jobs then share a range of the
index and the name tells them apart).

Not a rolling upgrade, like 0015: the previous release's claim does not name the hash
and would read every ready job of every queue. Stop every process that runs pgqueue,
migrate, then start the new release.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX pgqueue_jobs_ready")
    op.execute(
        "CREATE INDEX pgqueue_jobs_ready ON pgqueue_jobs "
        "(hashtext(queue), priority, run_at, id) INCLUDE (queue) WHERE state = 'waiting'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX pgqueue_jobs_ready")
    op.execute(
        "CREATE INDEX pgqueue_jobs_ready ON pgqueue_jobs (queue, priority, run_at, id) "
        "WHERE state = 'waiting'"
    )
