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

-- name: rescue_jobs
-- Jobs held by a worker whose heartbeat is older than the lease go back in line (the
-- attempt counts) or, with no attempts left, fail. Dead workers' rows are dropped.
WITH dead AS (
    DELETE FROM pgqueue_workers
    WHERE heartbeat_at < now() - %(lease_seconds)s * interval '1 second'
    RETURNING id
),
lost AS (
    SELECT j.id
    FROM pgqueue_jobs AS j
    WHERE j.state = 'active'
      AND NOT EXISTS (
          SELECT 1 FROM pgqueue_workers AS w
          WHERE w.id = j.worker_id
            AND w.heartbeat_at >= now() - %(lease_seconds)s * interval '1 second'
      )
    FOR UPDATE SKIP LOCKED
),
rescued AS (
    UPDATE pgqueue_jobs AS j
    SET state = CASE WHEN j.attempts_made >= j.max_attempts THEN 'failed' ELSE 'waiting' END,
        finished_at = CASE WHEN j.attempts_made >= j.max_attempts THEN now() END,
        failed_reason = 'the worker running this job stopped responding (lease expired)',
        run_at = now(), lease = NULL, worker_id = NULL
    FROM lost
    WHERE j.id = lost.id
    RETURNING j.id, j.queue, j.state
),
notified AS (
    SELECT pg_notify('pgqueue_jobs', queue || ' 0')::text AS sent
    FROM (SELECT DISTINCT queue FROM rescued WHERE state = 'waiting') AS q
)
SELECT rescued.id, rescued.queue, rescued.state
FROM rescued CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt
LEFT JOIN (SELECT count(*) AS n FROM dead) AS d ON true;

-- name: prune_finished
-- Retention (remove_on_complete / remove_on_fail as a count or an age): a finished job
-- goes once its queue holds more newer jobs in its state than it asked to keep, or once
-- it is older than it asked to be kept. Only jobs with a count or an age to keep are
-- candidates (a partial index holds just those), so jobs kept forever cost nothing. A
-- candidate's rank matters only among the newest `max keep` jobs of its queue and state,
-- which the finished index yields in order; any candidate below them has more newer jobs
-- than it asked to keep. Bounded per call so one pass stays short; rows another
-- transaction holds are left for the next pass, and a job retried meanwhile is spared.
-- The same pass folds the finished-count deltas (see migration 0004) into one row per
-- queue and state; a delta committed meanwhile is not in this snapshot and stays.
WITH folded AS (
    DELETE FROM pgqueue_finished_counts RETURNING queue, state, n
),
refolded AS (
    INSERT INTO pgqueue_finished_counts (queue, state, n)
    SELECT queue, state, sum(n) FROM folded GROUP BY queue, state HAVING sum(n) <> 0
),
candidates AS (
    SELECT id, queue, state, finished_at,
           CASE state WHEN 'completed' THEN keep_completed ELSE keep_failed END AS keep,
           CASE state WHEN 'completed' THEN keep_completed_age ELSE keep_failed_age END AS keep_age
    FROM pgqueue_jobs
    WHERE (state = 'completed' AND (keep_completed IS NOT NULL OR keep_completed_age IS NOT NULL))
       OR (state = 'failed' AND (keep_failed IS NOT NULL OR keep_failed_age IS NOT NULL))
),
groups AS (
    SELECT queue, state, coalesce(max(keep), 0) AS max_keep
    FROM candidates
    GROUP BY queue, state
),
newest AS (
    SELECT ranked.id, ranked.rn
    FROM groups AS g
    CROSS JOIN LATERAL (
        SELECT id, row_number() OVER (ORDER BY finished_at DESC, id DESC) AS rn
        FROM pgqueue_jobs
        WHERE queue = g.queue AND state = g.state AND state IN ('completed', 'failed')
        ORDER BY finished_at DESC, id DESC
        LIMIT g.max_keep
    ) AS ranked
),
doomed AS (
    SELECT c.id
    FROM candidates AS c
    LEFT JOIN newest AS n ON n.id = c.id
    WHERE (c.keep IS NOT NULL AND (n.rn IS NULL OR n.rn > c.keep))
       OR (c.keep_age IS NOT NULL AND c.finished_at < now() - c.keep_age * interval '1 second')
    LIMIT %(limit)s
),
locked AS (
    SELECT j.id
    FROM pgqueue_jobs AS j
    JOIN doomed ON doomed.id = j.id
    WHERE j.state IN ('completed', 'failed')
    FOR UPDATE OF j SKIP LOCKED
)
DELETE FROM pgqueue_jobs AS j USING locked
WHERE j.id = locked.id AND j.state IN ('completed', 'failed')
RETURNING j.id;
