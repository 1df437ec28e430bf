"""The benchmark's own SQL: setup, progress probes and the raw baseline.

The engine's queries live in `pgqueue/store/sql`; these exist only to load data
fast, to watch a drain from outside, and to put the engine's numbers in proportion.
"""

# Whether any job of the queue is left: polled every few ms while a drain runs, so it
# stops at the first row, as PgQueuer's own probe does, and costs the server next to
# nothing (a count of the whole queue at that pace took a share of the server). Both
# halves read a partial index; the poller's connection never scans the table whole
# (see `Bench.poller`).
ANY_LEFT = """
SELECT EXISTS (SELECT 1 FROM pgqueue_jobs
               WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s)
                 AND queue = %(queue)s)
    OR EXISTS (SELECT 1 FROM pgqueue_jobs
               WHERE worker_id IS NOT NULL AND state = 'active' AND queue = %(queue)s)
       AS left
"""

# Rows a drain still has to finish (the backlog stage samples it twice a second), read
# from the same partial indexes on the same connection.
REMAINING = """
SELECT (SELECT count(*) FROM pgqueue_jobs
          WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s)
            AND queue = %(queue)s)
     + (SELECT count(*) FROM pgqueue_jobs
          WHERE worker_id IS NOT NULL AND state = 'active' AND queue = %(queue)s)
       AS remaining
"""

# When the last job of a drain was recorded, by the database clock (same host).
LAST_FINISHED = """
SELECT extract(epoch FROM max(finished_at))::float8 AS at,
       count(*) FILTER (WHERE state = 'failed') AS failed
FROM pgqueue_jobs
WHERE queue = %(queue)s AND state IN ('completed', 'failed') AND finished_at >= %(since)s
"""

# The latency jobs' processors return the time they started.
STARTED_AT = """
SELECT id, (return_value ->> 'started')::float8 AS started
FROM pgqueue_jobs
WHERE id = ANY(%(ids)s)
"""

# A million finished jobs kept forever (remove_on_complete=False), spread over the last
# day, inserted in one statement.
KEEP_COMPLETED = """
INSERT INTO pgqueue_jobs (queue, name, data, state, attempts_made, return_value,
                          created_at, processed_at, finished_at)
SELECT %(queue)s, 'archived', '{}'::jsonb, 'completed', 1, 'null'::jsonb,
       t, t, t
FROM (SELECT now() - interval '1 day' + g * interval '1 millisecond' * (86400000 / %(n)s) AS t
      FROM generate_series(1, %(n)s) AS g) AS s
"""

# The baseline: what a hand-written loop with no queue semantics does per batch.
RAW_CLAIM = """
WITH next AS (
    SELECT id FROM pgqueue_jobs
    WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s) AND queue = %(queue)s
      AND run_at <= now()
    ORDER BY priority, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE pgqueue_jobs AS j SET state = 'active', attempts_made = j.attempts_made + 1
FROM next WHERE j.id = next.id
RETURNING j.id, j.data
"""

RAW_COMPLETE = """
UPDATE pgqueue_jobs SET state = 'completed', finished_at = now()
WHERE id = ANY(%(ids)s)
"""

# Fresh statistics and a visibility map, and no dead rows left by the stage before, as
# autovacuum and the workers' maintenance would leave (see `stages.clear`).
VACUUM = "VACUUM ANALYZE pgqueue_jobs"

# What the checkpointer writes within minutes of a bulk insert: without it the drains
# that follow it find shared buffers full of its dirty pages and write them out
# themselves. Needs a superuser or pg_checkpoint; skipped without.
CHECKPOINT = "CHECKPOINT"

# The finished counts after a maintenance pass folded the deltas of rows inserted
# finished (one per row, migration 0014), as autovacuum would leave them.
VACUUM_COUNTS = "VACUUM ANALYZE pgqueue_finished_counts"

# Queues used once (add_bulk, the raw loop) are emptied so that later repeats and the
# stats measure the same table.
DROP_QUEUE = "DELETE FROM pgqueue_jobs WHERE queue = %(queue)s"

SERVER_VERSION = "SHOW server_version"

# The backends of this database other than the probe's own: the worker's pool, the
# manager's; their CPU time is the database's cost of a drain.
BACKENDS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND backend_start >= coalesce(%(born_since)s::timestamptz, '-infinity')
"""
