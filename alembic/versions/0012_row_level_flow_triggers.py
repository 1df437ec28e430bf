"""Plain queues stop paying for flows and per-minute metrics.

Revisions 0009 and 0010 hung three statement-level triggers on the jobs table. Such a
trigger runs for every claim and every completion batch, flows or not, and scans the
statement's transition tables: on a plain queue that was about a tenth of the database's
time per job. Both move to where the work is:

- Flows: two row-level triggers whose `WHEN` clause lets a row through only if it is a
  child that has just ended (update) or left before ending (delete). Postgres tests the
  clause as it writes the row and queues nothing for other rows, so a statement that
  touches no child costs nothing more. What happens to the parent is unchanged (see
  0009). Parents are now updated in the order the statement wrote the children, not
  sorted by parent: two transactions ending children of the same two parents in
  opposite orders can deadlock, and Postgres then aborts one; the workers retry their
  completion and failure writes until they are recorded, so the cost is a retry.
- Per-minute metrics: workers count the jobs they complete in memory and send a delta
  row per (queue, minute) about once a second; the statements that fail jobs
  (`fail_job`, the maintenance rescue, a parent failed by its child) append their own.
  A claim or a completion batch no longer aggregates anything for them.

The old trigger functions stay, unused, so that a downgrade can hang them back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDED = "('completed', 'failed', 'cancelled')"
PENDING = "('waiting', 'active', 'waiting-children')"


def upgrade() -> None:
    op.execute("DROP TRIGGER pgqueue_flow_update ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_flow_delete ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_count_minutes ON pgqueue_jobs")
    # One child at a time. A parent failed here is itself an update of a row that may
    # be a child, so the failure climbs the tree through the same trigger.
    op.execute(
        """
        CREATE FUNCTION pgqueue_flow_child_row() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            parent_queue text;
            parent_state text;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                UPDATE pgqueue_jobs AS p
                SET pending_children = p.pending_children - 1,
                    state = CASE WHEN p.pending_children <= 1 THEN 'waiting' ELSE p.state END
                WHERE p.id = OLD.parent_id AND p.state = 'waiting-children'
                RETURNING p.queue, p.state INTO parent_queue, parent_state;
                IF parent_state = 'waiting' THEN
                    PERFORM pg_notify('pgqueue_jobs', parent_queue || ' 0');
                END IF;
                RETURN NULL;
            END IF;
            IF NEW.state = 'completed'
               OR NOT coalesce((NEW.opts->>'fail_parent_on_failure')::boolean, true) THEN
                UPDATE pgqueue_jobs AS p
                SET pending_children = p.pending_children - 1,
                    children_values = CASE WHEN NEW.state = 'completed'
                        THEN coalesce(p.children_values, '{}')
                             || jsonb_build_object(NEW.id::text, NEW.return_value)
                        ELSE p.children_values END,
                    state = CASE WHEN p.pending_children <= 1 THEN 'waiting' ELSE p.state END
                WHERE p.id = NEW.parent_id AND p.state = 'waiting-children'
                RETURNING p.queue, p.state INTO parent_queue, parent_state;
                IF parent_state = 'waiting' THEN
                    PERFORM pg_notify('pgqueue_jobs', parent_queue || ' 0');
                END IF;
            ELSE
                UPDATE pgqueue_jobs AS p
                SET state = 'failed', finished_at = now(),
                    failed_reason = CASE WHEN NEW.state = 'cancelled'
                        THEN format('child %s/%s was cancelled', NEW.queue, NEW.id)
                        ELSE format('child %s/%s failed: %s', NEW.queue, NEW.id,
                                    NEW.failed_reason) END
                WHERE p.id = NEW.parent_id AND p.state = 'waiting-children'
                RETURNING p.queue INTO parent_queue;
                IF parent_queue IS NOT NULL THEN
                    INSERT INTO pgqueue_minute_deltas
                        (queue, minute, completed, failed, wait_ms, run_ms)
                    VALUES (parent_queue, date_trunc('minute', now()), 0, 1, '{}', '{}');
                    PERFORM pg_notify('pgqueue_finished', parent_queue);
                END IF;
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER pgqueue_flow_child_ended AFTER UPDATE ON pgqueue_jobs FOR EACH ROW "
        f"WHEN (NEW.parent_id IS NOT NULL AND NEW.state IN {ENDED} "
        "AND OLD.state IS DISTINCT FROM NEW.state) "
        "EXECUTE FUNCTION pgqueue_flow_child_row()"
    )
    op.execute(
        "CREATE TRIGGER pgqueue_flow_child_removed AFTER DELETE ON pgqueue_jobs FOR EACH ROW "
        f"WHEN (OLD.parent_id IS NOT NULL AND OLD.state IN {PENDING}) "
        "EXECUTE FUNCTION pgqueue_flow_child_row()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER pgqueue_flow_child_removed ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_flow_child_ended ON pgqueue_jobs")
    op.execute("DROP FUNCTION pgqueue_flow_child_row()")
    op.execute(
        "CREATE TRIGGER pgqueue_count_minutes AFTER UPDATE ON pgqueue_jobs "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_count_minutes()"
    )
    op.execute(
        "CREATE TRIGGER pgqueue_flow_update AFTER UPDATE ON pgqueue_jobs "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_flow_child_ended()"
    )
    op.execute(
        "CREATE TRIGGER pgqueue_flow_delete AFTER DELETE ON pgqueue_jobs "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pgqueue_flow_child_ended()"
    )
