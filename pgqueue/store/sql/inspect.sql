-- name: get_job
-- A job is found by its id or by the key (job_id) its producer gave it. `user_state` is
-- the state a user sees (pgqueue_job_state, migration 0007: delayed and paused derived).
SELECT j.*, pgqueue_job_state(j.state, j.run_at, coalesce(q.paused, false)) AS user_state
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.queue = %(queue)s AND (j.id = %(id)s OR j.key = %(key)s)
ORDER BY j.id = %(id)s DESC
LIMIT 1;

-- name: list_jobs
-- Jobs in one user-visible state, newest first as Bull lists them. The stored state
-- narrows the rows (the derived states are all stored as `waiting`), so the planner
-- keeps its indexes; pgqueue_job_state (migration 0007) decides.
SELECT j.*, pgqueue_job_state(j.state, j.run_at, coalesce(q.paused, false)) AS user_state
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.queue = %(queue)s AND hashtext(j.queue) = hashtext(%(queue)s)
  AND j.state = CASE WHEN %(state)s IN ('delayed', 'paused') THEN 'waiting' ELSE %(state)s END
  AND pgqueue_job_state(j.state, j.run_at, coalesce(q.paused, false)) = %(state)s
ORDER BY coalesce(j.finished_at, j.processed_at, j.created_at) DESC, j.id DESC
OFFSET %(offset)s
LIMIT %(limit)s;

-- name: job_logs
SELECT l.created_at, l.message
FROM pgqueue_job_logs AS l
JOIN pgqueue_jobs AS j ON j.id = l.job_id
WHERE j.queue = %(queue)s AND (j.id = %(id)s OR j.key = %(key)s)
ORDER BY l.id
OFFSET %(offset)s
LIMIT %(limit)s;

-- name: queue_stats
-- Counts by user-visible state for every queue that has jobs or a pause flag (or one).
-- Waiting, delayed and active jobs are counted from the partial indexes that hold only
-- them (an active job is one a worker holds: `worker_id IS NOT NULL`); completed and
-- failed jobs, which retention may keep by the million, from the
-- signed deltas their triggers append (see migration 0004); cancelled jobs, which are
-- few, and flow parents waiting for their children, from the partial indexes that hold
-- them alone. No state costs a walk over the
-- finished rows.
WITH waiting AS (
    -- Every row here is stored as waiting: saying so lets the ready index answer alone.
    -- All queues, or one found by its hash (migration 0016): two branches, so that a
    -- plan made without the parameter's value still reads only the one queue's rows.
    SELECT queue, pgqueue_job_state('waiting', run_at, false) AS shown
    FROM pgqueue_jobs
    WHERE state = 'waiting' AND %(queue)s::text IS NULL
    UNION ALL
    SELECT queue, pgqueue_job_state('waiting', run_at, false)
    FROM pgqueue_jobs
    WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s) AND queue = %(queue)s
),
counts AS (
    -- A ready job of a paused queue counts as paused: that split is made below, per queue.
    SELECT queue, count(*) - count(*) FILTER (WHERE shown = 'delayed') AS ready,
           count(*) FILTER (WHERE shown = 'delayed') AS delayed,
           0 AS active, 0 AS completed, 0 AS failed, 0 AS cancelled, 0 AS parents
    FROM waiting
    GROUP BY queue
    UNION ALL
    SELECT queue, 0, 0, count(*), 0, 0, 0, 0
    FROM pgqueue_jobs
    WHERE worker_id IS NOT NULL AND state = 'active'
      AND (%(queue)s::text IS NULL OR queue = %(queue)s)
    GROUP BY queue
    UNION ALL
    SELECT queue, 0, 0, 0, CASE state WHEN 'completed' THEN sum(n) ELSE 0 END,
           CASE state WHEN 'failed' THEN sum(n) ELSE 0 END, 0, 0
    FROM pgqueue_finished_counts
    WHERE %(queue)s::text IS NULL OR queue = %(queue)s
    GROUP BY queue, state
    HAVING sum(n) <> 0
    UNION ALL
    SELECT queue, 0, 0, 0, 0, 0, count(*), 0
    FROM pgqueue_jobs
    WHERE state = 'cancelled' AND (%(queue)s::text IS NULL OR queue = %(queue)s)
    GROUP BY queue
    UNION ALL
    SELECT queue, 0, 0, 0, 0, 0, 0, count(*)
    FROM pgqueue_jobs
    WHERE state = 'waiting-children' AND (%(queue)s::text IS NULL OR queue = %(queue)s)
    GROUP BY queue
),
per_queue AS (
    SELECT queue, sum(ready)::bigint AS ready, sum(delayed)::bigint AS delayed,
           sum(active)::bigint AS active, sum(completed)::bigint AS completed,
           sum(failed)::bigint AS failed, sum(cancelled)::bigint AS cancelled,
           sum(parents)::bigint AS parents
    FROM counts
    GROUP BY queue
)
SELECT coalesce(c.queue, q.name) AS queue,
       CASE WHEN coalesce(q.paused, false) THEN 0 ELSE coalesce(c.ready, 0) END AS waiting,
       coalesce(c.active, 0) AS active,
       coalesce(c.completed, 0) AS completed,
       coalesce(c.failed, 0) AS failed,
       coalesce(c.cancelled, 0) AS cancelled,
       coalesce(c.parents, 0) AS "waiting-children",
       coalesce(c.delayed, 0) AS delayed,
       CASE WHEN coalesce(q.paused, false) THEN coalesce(c.ready, 0) ELSE 0 END AS paused,
       coalesce(q.paused, false) AS is_paused
FROM per_queue AS c
FULL JOIN pgqueue_queues AS q ON q.name = c.queue
WHERE %(queue)s::text IS NULL OR coalesce(c.queue, q.name) = %(queue)s;

-- name: paused_queues
SELECT name FROM pgqueue_queues WHERE paused;
