-- name: register_worker
INSERT INTO pgqueue_workers (id, hostname, pid, queues)
VALUES (%(id)s, %(hostname)s, %(pid)s, %(queues)s)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), queues = excluded.queues;

-- name: heartbeat
-- A worker's heartbeat renews the leases of all the jobs it holds at once.
UPDATE pgqueue_workers SET heartbeat_at = now() WHERE id = %(id)s RETURNING id;

-- name: unregister_worker
DELETE FROM pgqueue_workers WHERE id = %(id)s;

-- name: list_workers
-- `running` counts the jobs each worker holds, through the index of active jobs.
SELECT w.id, w.hostname, w.pid, w.queues, w.started_at, w.heartbeat_at,
       (SELECT count(*) FROM pgqueue_jobs AS j
        WHERE j.worker_id = w.id AND j.state = 'active') AS running
FROM pgqueue_workers AS w
ORDER BY w.started_at;

-- name: try_maintenance_lock
-- One node at a time runs maintenance; the lock ends with the transaction around it.
SELECT pg_try_advisory_xact_lock(7405315002) AS locked;

-- name: set_maintenance_timeout
-- Maintenance runs in one transaction under the lock; none of its statements may run
-- for long, and one stuck on a server whose client died must not go on for minutes.
-- Its reads are bounded only if they walk their indexes in order and stop at the batch;
-- a bitmap scan (chosen when statistics make a group look small) reads the whole group
-- and sorts it, so it is switched off for this transaction.
SELECT set_config('statement_timeout', %(timeout_ms)s::text, true) AS timeout,
       set_config('enable_bitmapscan', 'off', true) AS bitmapscan;

-- name: rescue_jobs
-- Jobs held by a worker whose heartbeat is older than the lease go back in line (the
-- attempt counts) or, with no attempts left, fail. Dead workers' rows are dropped.
-- Held jobs are read from `pgqueue_jobs_held`, so a pass costs what workers hold (which
-- their backpressure bounds), never the finished jobs; at most `limit` per pass.
WITH dead AS (
    DELETE FROM pgqueue_workers
    WHERE heartbeat_at < now() - %(lease_seconds)s * interval '1 second'
    RETURNING id
),
lost AS (
    SELECT j.id, greatest(j.run_at, j.created_at) AS ready_at, j.processed_at
    FROM pgqueue_jobs AS j
    WHERE j.worker_id IS NOT NULL AND j.state = 'active'
      AND NOT EXISTS (
          SELECT 1 FROM pgqueue_workers AS w
          WHERE w.id = j.worker_id
            AND w.heartbeat_at >= now() - %(lease_seconds)s * interval '1 second'
      )
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
rescued AS (
    UPDATE pgqueue_jobs AS j
    SET state = CASE WHEN j.attempts_made >= j.max_attempts THEN 'failed' ELSE 'waiting' END,
        finished_at = CASE WHEN j.attempts_made >= j.max_attempts THEN now() END,
        failed_reason = 'the worker running this job stopped responding (lease expired)',
        run_at = now(), lease = NULL, worker_id = NULL
    WHERE j.id = ANY(ARRAY(SELECT id FROM lost))
    RETURNING j.id, j.queue, j.state
),
-- Jobs out of attempts fail here, so they count in the per-minute metrics (migration
-- 0010); their wait is read from before the rescue moved `run_at` (and from when they
-- became ready: a LIFO job's `run_at` is a sort key mirrored before 1970).
counted AS (
    INSERT INTO pgqueue_minute_deltas (queue, minute, completed, failed, wait_ms, run_ms)
    SELECT r.queue, date_trunc('minute', now()), 0, count(*),
           coalesce(array_agg(
               greatest(0, extract(epoch FROM l.processed_at - l.ready_at) * 1000)::float8
           ) FILTER (WHERE l.processed_at IS NOT NULL), '{}'),
           coalesce(array_agg(
               greatest(0, extract(epoch FROM now() - l.processed_at) * 1000)::float8
           ) FILTER (WHERE l.processed_at IS NOT NULL), '{}')
    FROM rescued AS r JOIN lost AS l ON l.id = r.id
    WHERE r.state = 'failed'
    GROUP BY r.queue
),
notified AS (
    SELECT pg_notify(%(channel)s, queue || ' 0')::text AS sent
    FROM (SELECT DISTINCT queue FROM rescued WHERE state = 'waiting') AS q
    UNION ALL
    -- `wait_for_job` hears of a job that failed here, as of any other final failure.
    SELECT pg_notify(%(finished_channel)s, queue)::text
    FROM (SELECT DISTINCT queue FROM rescued WHERE state = 'failed') AS q
)
SELECT rescued.id, rescued.queue, rescued.state
FROM rescued CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt
LEFT JOIN (SELECT count(*) AS n FROM dead) AS d ON true;

-- name: prune_finished
-- Retention (remove_on_complete / remove_on_fail as a count or an age): a finished job
-- goes once its queue holds more newer jobs in its state than it asked to keep, or once
-- it is older than it asked to be kept. Every step reads a bounded slice, so a pass costs
-- what it deletes, never what the table holds:
-- - the (queue, state) groups and their sizes come from the finished-count deltas (see
--   migration 0004), which the same pass folds into one row per group;
-- - per group, only the `limit` oldest jobs kept for a count (`pgqueue_jobs_prunable`)
--   and the `limit` oldest kept for an age (`pgqueue_jobs_expirable`) are considered;
-- - a job kept for `keep` goes if it is not newer than the group's (keep + 1)-th newest
--   job, found by an index walk from whichever end of the group is nearer.
-- Within one queue and state, jobs asked to be kept longer than the ones behind them hold
-- those back until they go themselves (the usual case, one setting per queue, is exact).
-- Rows another transaction holds are left for the next pass; a job retried meanwhile is
-- spared. Each lookup by id goes through the primary key.
WITH folded AS (
    DELETE FROM pgqueue_finished_counts RETURNING queue, state, n
),
refolded AS (
    INSERT INTO pgqueue_finished_counts (queue, state, n)
    SELECT queue, state, sum(n) FROM folded GROUP BY queue, state HAVING sum(n) <> 0
),
groups AS MATERIALIZED (
    SELECT queue, state, sum(n) AS total FROM folded GROUP BY queue, state HAVING sum(n) > 0
),
by_count AS MATERIALIZED (
    SELECT g.queue, g.state, g.total, c.id, c.finished_at, c.keep
    FROM groups AS g
    CROSS JOIN LATERAL (
        SELECT j.id, j.finished_at,
               CASE j.state WHEN 'completed' THEN j.keep_completed ELSE j.keep_failed END AS keep
        FROM pgqueue_jobs AS j
        WHERE j.queue = g.queue AND j.state = g.state
          AND ((j.state = 'completed' AND j.keep_completed IS NOT NULL)
               OR (j.state = 'failed' AND j.keep_failed IS NOT NULL))
        ORDER BY j.finished_at, j.id
        LIMIT %(limit)s
    ) AS c
),
bounds AS MATERIALIZED (
    SELECT k.queue, k.state, k.keep, b.finished_at, b.id
    FROM (SELECT DISTINCT queue, state, total, keep FROM by_count WHERE keep < total) AS k
    CROSS JOIN LATERAL (
        (SELECT j.finished_at, j.id
         FROM pgqueue_jobs AS j
         WHERE j.queue = k.queue AND j.state = k.state AND j.state IN ('completed', 'failed')
           AND k.keep <= k.total - k.keep
         ORDER BY j.finished_at DESC, j.id DESC
         OFFSET k.keep LIMIT 1)
        UNION ALL
        (SELECT j.finished_at, j.id
         FROM pgqueue_jobs AS j
         WHERE j.queue = k.queue AND j.state = k.state AND j.state IN ('completed', 'failed')
           AND k.keep > k.total - k.keep
         ORDER BY j.finished_at, j.id
         OFFSET k.total - k.keep - 1 LIMIT 1)
    ) AS b
),
by_age AS (
    SELECT c.id
    FROM groups AS g
    CROSS JOIN LATERAL (
        SELECT j.id, j.finished_at,
               CASE j.state WHEN 'completed' THEN j.keep_completed_age
                            ELSE j.keep_failed_age END AS keep_age
        FROM pgqueue_jobs AS j
        WHERE j.queue = g.queue AND j.state = g.state
          AND ((j.state = 'completed' AND j.keep_completed_age IS NOT NULL)
               OR (j.state = 'failed' AND j.keep_failed_age IS NOT NULL))
        ORDER BY j.finished_at, j.id
        LIMIT %(limit)s
    ) AS c
    WHERE c.finished_at < now() - c.keep_age * interval '1 second'
),
doomed AS (
    (SELECT c.id
     FROM by_count AS c
     JOIN bounds AS b ON b.queue = c.queue AND b.state = c.state AND b.keep = c.keep
     WHERE (c.finished_at, c.id) <= (b.finished_at, b.id)
     UNION
     SELECT id FROM by_age)
    LIMIT %(limit)s
),
locked AS MATERIALIZED (
    SELECT j.id, j.state
    FROM pgqueue_jobs AS j
    WHERE j.id = ANY(ARRAY(SELECT id FROM doomed))
    FOR UPDATE SKIP LOCKED
)
DELETE FROM pgqueue_jobs AS j
WHERE j.id = ANY(ARRAY(SELECT id FROM locked WHERE state IN ('completed', 'failed')))
RETURNING j.id;

-- name: prune_waiters
-- Registrations of `wait_for_job` calls whose process died before removing them (see
-- migration 0013): no wait lasts longer than `max_wait_seconds`.
DELETE FROM pgqueue_job_waiters
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM pgqueue_job_waiters
    WHERE since < now() - %(max_wait_seconds)s * interval '1 second'
    LIMIT %(limit)s
));

-- name: vacuum_due
-- Dead rows of the jobs table, from the statistics (approximate, a second or so behind):
-- enough of them, and no vacuum lately, autovacuum's or ours. "Enough" grows with the
-- live rows, as autovacuum's own threshold does: a vacuum walks every index whole, so
-- with a million finished jobs kept it must come less often to cost the same per job.
SELECT coalesce(s.n_dead_tup >= %(min_dead)s + %(live_share)s * s.n_live_tup
                AND coalesce(greatest(s.last_vacuum, s.last_autovacuum), '-infinity')
                    < now() - %(quiet_seconds)s * interval '1 second', false) AS due
FROM (SELECT 1) AS one
LEFT JOIN pg_stat_user_tables AS s ON s.relid = to_regclass('pgqueue_jobs');

-- name: vacuum_jobs
-- Never in a transaction block: the store runs it on an autocommit connection.
VACUUM (SKIP_LOCKED) pgqueue_jobs;
