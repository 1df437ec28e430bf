-- name: retry_job
-- Only a failed or cancelled job can be retried: it waits again with a fresh set of
-- attempts. The state before the call is returned either way, so the caller can tell
-- "not found" from "not failed" without a second query.
WITH target AS (
    SELECT id, state FROM pgqueue_jobs
    WHERE queue = %(queue)s AND (id = %(id)s OR key = %(key)s)
    ORDER BY id = %(id)s DESC
    LIMIT 1
    FOR UPDATE
),
retried AS (
    UPDATE pgqueue_jobs AS j
    SET state = 'waiting', run_at = now(), attempts_made = 0, failed_reason = NULL,
        finished_at = NULL, processed_at = NULL, return_value = NULL, cancelled_by = NULL
    FROM target
    WHERE j.id = target.id AND target.state IN ('failed', 'cancelled')
    RETURNING j.id
),
notified AS (
    SELECT pg_notify(%(channel)s, %(queue)s || ' 0')::text AS sent FROM retried
)
SELECT target.id, target.state AS previous_state, retried.id IS NOT NULL AS retried
FROM target
LEFT JOIN retried ON true
CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: promote_job
-- A delayed job runs now.
WITH target AS (
    SELECT id, state, pgqueue_job_state(state, run_at, false) = 'delayed' AS delayed
    FROM pgqueue_jobs
    WHERE queue = %(queue)s AND (id = %(id)s OR key = %(key)s)
    ORDER BY id = %(id)s DESC
    LIMIT 1
    FOR UPDATE
),
promoted AS (
    UPDATE pgqueue_jobs AS j SET run_at = now()
    FROM target
    WHERE j.id = target.id AND target.state = 'waiting' AND target.delayed
    RETURNING j.id
),
notified AS (
    SELECT pg_notify(%(channel)s, %(queue)s || ' 0')::text AS sent FROM promoted
)
SELECT target.id, target.state AS previous_state, promoted.id IS NOT NULL AS promoted
FROM target
LEFT JOIN promoted ON true
CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: remove_job
-- An active job is leased to a worker and is not removed from under it. A flow's parent
-- goes with its pending descendants (waiting, delayed or waiting for children of their
-- own); running and finished ones stay, as rows of their own.
WITH RECURSIVE target AS (
    SELECT id, state FROM pgqueue_jobs
    WHERE queue = %(queue)s AND (id = %(id)s OR key = %(key)s)
    ORDER BY id = %(id)s DESC
    LIMIT 1
    FOR UPDATE
),
pending AS (
    SELECT c.id FROM pgqueue_jobs AS c JOIN target ON c.parent_id = target.id
    WHERE target.state <> 'active' AND c.state IN ('waiting', 'waiting-children')
    UNION ALL
    SELECT c.id FROM pgqueue_jobs AS c JOIN pending ON c.parent_id = pending.id
    WHERE c.state IN ('waiting', 'waiting-children')
),
removed AS (
    DELETE FROM pgqueue_jobs AS j
    WHERE j.id IN (SELECT id FROM target WHERE state <> 'active' UNION ALL SELECT id FROM pending)
    RETURNING j.id
)
SELECT target.id, target.state AS previous_state, removed.id IS NOT NULL AS removed
FROM target LEFT JOIN removed ON removed.id = target.id;

-- name: clean_jobs
-- Bull's clean: remove jobs in one state older than the grace period, at most `limit`.
-- Finished jobs age from when they finished, the others from when they were created.
-- The delete finds its rows by id alone, not by joining them: a join let statistics from
-- a vacuum of an almost empty table walk the whole table once per job (see complete_jobs).
WITH doomed AS (
    SELECT j.id
    FROM pgqueue_jobs AS j
    LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
    WHERE j.queue = %(queue)s AND hashtext(j.queue) = hashtext(%(queue)s)
      AND CASE
            WHEN %(state)s IN ('completed', 'failed', 'cancelled') THEN j.state = %(state)s
                AND j.finished_at < now() - %(grace_ms)s * interval '1 millisecond'
            WHEN %(state)s IN ('waiting', 'paused', 'delayed') THEN j.state = 'waiting'
                AND pgqueue_job_state(j.state, j.run_at, coalesce(q.paused, false)) = %(state)s
                AND j.created_at < now() - %(grace_ms)s * interval '1 millisecond'
          END
    ORDER BY j.id
    LIMIT %(limit)s
    FOR UPDATE OF j SKIP LOCKED
)
DELETE FROM pgqueue_jobs AS j
WHERE j.id = ANY(ARRAY(SELECT id FROM doomed))
RETURNING j.id;

-- name: set_paused
-- Pausing is a row, so every worker process on every host sees it at its next claim;
-- resuming also wakes idle workers at once.
WITH upserted AS (
    INSERT INTO pgqueue_queues (name, paused, updated_at)
    VALUES (%(queue)s, %(paused)s, now())
    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = now()
    RETURNING name, paused
),
notified AS (
    SELECT pg_notify(%(channel)s, name || ' 0')::text AS sent FROM upserted WHERE NOT paused
)
SELECT upserted.name, upserted.paused
FROM upserted CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;
