"""Flows: parents that wait for their children.

A child names its parent in `parent_id`. A parent waits in `waiting-children` with the
number of children still to finish in `pending_children`. When a child ends, triggers
tell its parent, in the same transaction as whatever ended it (a worker's completion
batch, a final failure, a rescue, a cancel, an operator's SQL):

- completed: the parent counts it done and keeps its return value in `children_values`
  (so the value survives the child's retention); the last child makes the parent
  waiting, and wakes workers of the parent's queue;
- failed or cancelled: the parent fails, its reason naming the child, unless the child
  was added with `fail_parent_on_failure: false`, in which case the parent counts it
  done without a value. A parent that fails is an update like any other, so the same
  trigger carries the failure up to its own parent, at any depth;
- deleted before it ended (`remove_job`, `clean`, or `remove_on_complete=0` on
  completion): the parent goes on without it.

The triggers are statement-level, like the finished counts of 0004: a statement that
touches no child (every claim and completion batch of plain jobs) costs one scan of its
own transition table and nothing else. No foreign key: deleting any job would otherwise
probe the children index, flows or not. Both indexes are partial, so jobs that are not
in a flow are not in them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE pgqueue_jobs ADD COLUMN parent_id bigint")
    op.execute("ALTER TABLE pgqueue_jobs ADD COLUMN pending_children integer")
    op.execute("ALTER TABLE pgqueue_jobs ADD COLUMN children_values jsonb")
    op.execute(
        "CREATE INDEX pgqueue_jobs_children ON pgqueue_jobs (parent_id) WHERE parent_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX pgqueue_jobs_waiting_children ON pgqueue_jobs (queue) "
        "WHERE state = 'waiting-children'"
    )
    # Parents are updated one child at a time, in parent id order, so that two
    # transactions ending siblings lock shared parents in the same order.
    op.execute(
        """
        CREATE FUNCTION pgqueue_flow_child_ended() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            child record;
            parent_queue text;
            parent_state text;
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                IF NOT EXISTS (SELECT 1 FROM new_rows WHERE parent_id IS NOT NULL) THEN
                    RETURN NULL;
                END IF;
                FOR child IN
                    SELECT n.id, n.queue, n.parent_id, n.state, n.return_value, n.failed_reason,
                           coalesce((n.opts->>'fail_parent_on_failure')::boolean, true)
                               AS fail_parent
                    FROM new_rows AS n
                    WHERE n.parent_id IS NOT NULL
                      AND n.state IN ('completed', 'failed', 'cancelled')
                      AND NOT EXISTS (
                          SELECT 1 FROM old_rows AS o WHERE o.id = n.id AND o.state = n.state
                      )
                    ORDER BY n.parent_id, n.id
                LOOP
                    parent_queue := NULL;
                    IF child.state = 'completed' OR NOT child.fail_parent THEN
                        UPDATE pgqueue_jobs AS p
                        SET pending_children = p.pending_children - 1,
                            children_values = CASE WHEN child.state = 'completed'
                                THEN coalesce(p.children_values, '{}')
                                     || jsonb_build_object(child.id::text, child.return_value)
                                ELSE p.children_values END,
                            state = CASE WHEN p.pending_children <= 1 THEN 'waiting'
                                         ELSE p.state END
                        WHERE p.id = child.parent_id AND p.state = 'waiting-children'
                        RETURNING p.queue, p.state INTO parent_queue, parent_state;
                        IF parent_state = 'waiting' THEN
                            PERFORM pg_notify('pgqueue_jobs', parent_queue || ' 0');
                        END IF;
                    ELSE
                        UPDATE pgqueue_jobs AS p
                        SET state = 'failed', finished_at = now(),
                            failed_reason = CASE WHEN child.state = 'cancelled'
                                THEN format('child %s/%s was cancelled', child.queue, child.id)
                                ELSE format(
                                    'child %s/%s failed: %s', child.queue, child.id,
                                    child.failed_reason
                                ) END
                        WHERE p.id = child.parent_id AND p.state = 'waiting-children'
                        RETURNING p.queue INTO parent_queue;
                        IF parent_queue IS NOT NULL THEN
                            PERFORM pg_notify('pgqueue_finished', parent_queue);
                        END IF;
                    END IF;
                END LOOP;
            ELSIF TG_OP = 'DELETE' THEN
                IF NOT EXISTS (SELECT 1 FROM old_rows WHERE parent_id IS NOT NULL) THEN
                    RETURN NULL;
                END IF;
                FOR child IN
                    SELECT parent_id, count(*)::int AS n FROM old_rows
                    WHERE parent_id IS NOT NULL
                      AND state IN ('waiting', 'active', 'waiting-children')
                    GROUP BY parent_id
                    ORDER BY parent_id
                LOOP
                    parent_state := NULL;
                    UPDATE pgqueue_jobs AS p
                    SET pending_children = p.pending_children - child.n,
                        state = CASE WHEN p.pending_children <= child.n THEN 'waiting'
                                     ELSE p.state END
                    WHERE p.id = child.parent_id AND p.state = 'waiting-children'
                    RETURNING p.queue, p.state INTO parent_queue, parent_state;
                    IF parent_state = 'waiting' THEN
                        PERFORM pg_notify('pgqueue_jobs', parent_queue || ' 0');
                    END IF;
                END LOOP;
            END IF;
            RETURN NULL;
        END
        $$
        """
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


def downgrade() -> None:
    op.execute("DROP TRIGGER pgqueue_flow_delete ON pgqueue_jobs")
    op.execute("DROP TRIGGER pgqueue_flow_update ON pgqueue_jobs")
    op.execute("DROP FUNCTION pgqueue_flow_child_ended()")
    op.execute("DROP INDEX pgqueue_jobs_waiting_children")
    op.execute("DROP INDEX pgqueue_jobs_children")
    op.execute("DELETE FROM pgqueue_jobs WHERE state = 'waiting-children'")
    op.execute("ALTER TABLE pgqueue_jobs DROP COLUMN children_values")
    op.execute("ALTER TABLE pgqueue_jobs DROP COLUMN pending_children")
    op.execute("ALTER TABLE pgqueue_jobs DROP COLUMN parent_id")
