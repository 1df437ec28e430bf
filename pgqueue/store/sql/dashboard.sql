-- name: queue_activity
-- What the dashboard's overview shows beside the counts: how long the oldest ready job
-- of each queue has waited (since it became ready, or since it was added for a LIFO job,
-- whose run time is a sort key in the past), and how many jobs finished in the last
-- `window_seconds`, to the minute. Only ready rows (the partial ready index) are read for
-- the first; the second comes from the per-minute metrics (migration 0010), counted as
-- jobs finish, so jobs retention has since removed still count.
WITH ready AS (
    SELECT j.queue,
           extract(epoch FROM now() - min(greatest(j.run_at, j.created_at)) FILTER (
               WHERE pgqueue_job_state(j.state, j.run_at, coalesce(q.paused, false)) = 'waiting'
           ))::float8 AS oldest_waiting_seconds
    FROM pgqueue_jobs AS j
    LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
    WHERE j.state = 'waiting' AND j.run_at <= now()
    GROUP BY j.queue
),
finished AS (
    SELECT f.queue, sum(f.completed) AS completed, sum(f.failed) AS failed
    FROM (
        SELECT m.queue, m.completed, m.failed
        FROM pgqueue_minute_metrics AS m
        WHERE m.minute >= date_trunc('minute', now() - %(window_seconds)s * interval '1 second')
          AND m.queue <> '*'
        UNION ALL
        SELECT d.queue, d.completed, d.failed
        FROM pgqueue_minute_deltas AS d
        WHERE d.minute >= date_trunc('minute', now() - %(window_seconds)s * interval '1 second')
    ) AS f
    GROUP BY f.queue
)
SELECT coalesce(r.queue, f.queue) AS queue, r.oldest_waiting_seconds,
       coalesce(f.completed, 0) AS completed_recently,
       coalesce(f.failed, 0) AS failed_recently
FROM ready AS r
FULL JOIN finished AS f ON f.queue = r.queue;

-- name: search_jobs
-- The queue page's search box: a job by its id or key, or every job whose name contains
-- the text (case-insensitive), in any state, newest first. The name match reads all of
-- the queue's rows, which is fine for a person typing, not for a hot path.
SELECT j.*, pgqueue_job_state(j.state, j.run_at, coalesce(q.paused, false)) AS user_state
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.queue = %(queue)s
  AND (j.id = %(id)s OR j.key = %(text)s OR strpos(lower(j.name), lower(%(text)s)) > 0)
ORDER BY j.id = %(id)s DESC, j.id DESC
OFFSET %(offset)s
LIMIT %(limit)s;

-- name: retry_failed_jobs
-- "Retry all failed": each failed job of the queue waits again with fresh attempts, as
-- retry_job does for one, in one statement; idle workers are woken once.
WITH retried AS (
    UPDATE pgqueue_jobs
    SET state = 'waiting', run_at = now(), attempts_made = 0, failed_reason = NULL,
        finished_at = NULL, processed_at = NULL, return_value = NULL
    WHERE queue = %(queue)s AND state = 'failed'
    RETURNING id
),
notified AS (
    SELECT pg_notify(%(channel)s, %(queue)s || ' 0')::text AS sent
    WHERE EXISTS (SELECT 1 FROM retried)
)
SELECT count(*) AS n FROM retried CROSS JOIN (SELECT count(sent) FROM notified) AS nt;

-- name: promote_delayed_jobs
-- "Promote all delayed": every delayed job of the queue becomes ready now.
WITH promoted AS (
    UPDATE pgqueue_jobs SET run_at = now()
    WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s) AND queue = %(queue)s
      AND pgqueue_job_state(state, run_at, false) = 'delayed'
    RETURNING id
),
notified AS (
    SELECT pg_notify(%(channel)s, %(queue)s || ' 0')::text AS sent
    WHERE EXISTS (SELECT 1 FROM promoted)
)
SELECT count(*) AS n FROM promoted CROSS JOIN (SELECT count(sent) FROM notified) AS nt;
