-- name: get_job
-- A job is found by its id or by the key (job_id) its producer gave it.
SELECT j.*, j.run_at > now() AS delayed, coalesce(q.paused, false) AS paused
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.queue = %(queue)s AND (j.id = %(id)s OR j.key = %(key)s)
ORDER BY j.id = %(id)s DESC
LIMIT 1;

-- name: list_jobs
-- Jobs in one user-visible state, newest first as Bull lists them; `waiting`, `delayed`
-- and `paused` are derived from the run time and the queue's pause flag.
SELECT j.*, j.run_at > now() AS delayed, coalesce(q.paused, false) AS paused
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.queue = %(queue)s
  AND CASE %(state)s
        WHEN 'waiting' THEN j.state = 'waiting' AND j.run_at <= now() AND NOT coalesce(q.paused, false)
        WHEN 'paused' THEN j.state = 'waiting' AND j.run_at <= now() AND coalesce(q.paused, false)
        WHEN 'delayed' THEN j.state = 'waiting' AND j.run_at > now()
        ELSE j.state = %(state)s
      END
ORDER BY coalesce(j.finished_at, j.processed_at, j.created_at) DESC, j.id DESC
OFFSET %(offset)s
LIMIT %(limit)s;

-- name: job_logs
SELECT l.created_at, l.message
FROM pgqueue_job_logs AS l
JOIN pgqueue_jobs AS j ON j.id = l.job_id
WHERE j.queue = %(queue)s AND l.job_id = %(id)s
ORDER BY l.id
OFFSET %(offset)s
LIMIT %(limit)s;

-- name: queue_stats
-- Counts by user-visible state for every queue that has jobs or a pause flag (or one).
SELECT coalesce(j.queue, q.name) AS queue,
       count(*) FILTER (WHERE j.state = 'waiting' AND j.run_at <= now()
                        AND NOT coalesce(q.paused, false)) AS waiting,
       count(*) FILTER (WHERE j.state = 'active') AS active,
       count(*) FILTER (WHERE j.state = 'completed') AS completed,
       count(*) FILTER (WHERE j.state = 'failed') AS failed,
       count(*) FILTER (WHERE j.state = 'waiting' AND j.run_at > now()) AS delayed,
       count(*) FILTER (WHERE j.state = 'waiting' AND j.run_at <= now()
                        AND coalesce(q.paused, false)) AS paused,
       bool_or(coalesce(q.paused, false)) AS is_paused
FROM pgqueue_jobs AS j
FULL JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE %(queue)s::text IS NULL OR coalesce(j.queue, q.name) = %(queue)s
GROUP BY coalesce(j.queue, q.name);

-- name: paused_queues
SELECT name FROM pgqueue_queues WHERE paused;
