-- name: claim_jobs
-- The CTE picks the next ready rows in strict order (priority, then run time, then id)
-- from the partial index of ready jobs, skipping rows other workers hold; the UPDATE
-- leases them to this worker. `lease` is a fresh token per claim: every later write
-- about these jobs names it, so a worker that lost its lease cannot touch a job that has
-- since been claimed again. A paused queue yields nothing. The UPDATE finds its rows
-- by id through the primary key; JSON columns come back as text, which the worker
-- decodes faster than psycopg decodes jsonb. The ready index is keyed on a hash of the
-- queue's name (migration 0016): the hash finds the queue's rows, the name tells apart
-- two queues that share a hash.
-- A claim commits without waiting for its WAL to reach disk (`synchronous_commit` off
-- for this transaction only, set once the first row is leased): the flush is most of a
-- claim's latency, and the worker claims in sequence. Should the server crash in the
-- fraction of a second before the flush, the claim is undone: the jobs are waiting
-- again, and the worker that ran them cannot record their outcome under a lease that no
-- longer exists, so they run again, as after a worker's crash. Outcomes are written with
-- a full flush, and WAL is flushed in order, so a recorded outcome implies its claim.
WITH next AS (
    SELECT id
    FROM pgqueue_jobs
    WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s) AND queue = %(queue)s
      AND run_at <= now()
      AND NOT EXISTS (SELECT 1 FROM pgqueue_queues WHERE name = %(queue)s AND paused)
    ORDER BY priority, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE pgqueue_jobs AS j
SET state = 'active', attempts_made = j.attempts_made + 1, processed_at = now(),
    lease = %(lease)s, worker_id = %(worker_id)s
WHERE j.id = ANY(ARRAY(SELECT id FROM next))
  AND (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL
RETURNING j.id, j.queue, j.name, j.data::text AS data, j.opts::text AS opts, j.priority,
          j.run_at, j.attempts_made, j.max_attempts, j.key, j.progress, j.created_at,
          j.processed_at;

-- name: complete_jobs
-- Completions arrive in batches. Jobs kept for zero completions are deleted, the others
-- marked completed; rows two CTEs touch are disjoint, as Postgres requires. Every step
-- finds its rows by id, which only the primary key can answer (no partial index covers
-- active jobs; see migration 0008): one index probe per job, in generic and custom
-- plans, with a cold table or a backlog. Neither the update nor the delete joins the
-- table to anything: each finds its rows with `id = ANY(ARRAY(...))`, and the update
-- looks each job's result up by id in one JSON object, parsed once. An update that
-- joined its rows on id had two bad plans: the cached generic plan, with `id = ANY` beside
-- the join, walked the batch's ids for every job (85 µs of server time per job at 100);
-- and with statistics from a vacuum that found the table almost empty (say one row on
-- 620 pages), the planner walked the whole primary key for the batch and matched every
-- row against every job: 9 s for a batch of 2,000 in a table of 20,000, and a drain that
-- fell to 1,000 jobs/s until autovacuum's next analyze (test_statement_cost keeps both
-- linear). The rows are locked first, in id order, and their lease and state read from
-- the locked version, so a job whose lease moved on meanwhile is left alone. The batch
-- travels as three texts the client joins: ids and leases as array literals, in the same
-- order, and the results as a JSON object keyed by id. When someone waits for one of the
-- batch's jobs (`wait_for_job`), one NOTIFY names the queues that finished jobs; a NOTIFY
-- serialises commits, so there is none otherwise (see migration 0013, which also says
-- why the check runs last). One row comes back: the ids recorded, as an array (a row per
-- job cost the worker a row and a timestamp to decode each), and the statement's time,
-- by which the worker counts the jobs in their minute's metrics (worker/minutes.py).
WITH locked AS MATERIALIZED (
    SELECT j.id, j.lease, j.state, j.keep_completed
    FROM pgqueue_jobs AS j
    WHERE j.id = ANY(%(ids)s::bigint[])
    ORDER BY j.id
    FOR UPDATE
),
mine AS MATERIALIZED (
    SELECT l.id, l.keep_completed
    FROM locked AS l
    JOIN unnest(%(ids)s::bigint[], %(leases)s::uuid[]) AS d(id, lease)
      ON d.id = l.id AND d.lease = l.lease
    WHERE l.state = 'active'
),
removed AS (
    DELETE FROM pgqueue_jobs AS j
    WHERE j.id = ANY(ARRAY(SELECT id FROM mine WHERE keep_completed = 0))
    RETURNING j.id, j.queue
),
updated AS (
    UPDATE pgqueue_jobs AS j
    SET state = 'completed', finished_at = now(),
        return_value = (SELECT %(results)s::jsonb) -> j.id::text,
        lease = NULL, worker_id = NULL
    WHERE j.id = ANY(ARRAY(SELECT id FROM mine WHERE keep_completed IS DISTINCT FROM 0))
    RETURNING j.id, j.queue
),
notified AS (
    SELECT pgqueue_notify_waiters(
               %(channel)s, string_agg(DISTINCT queue, ' '), array_agg(id)
           ) AS sent
    FROM (SELECT id, queue FROM removed UNION ALL SELECT id, queue FROM updated) AS done
    HAVING count(*) > 0
)
SELECT coalesce(array_agg(id), '{}') AS ids, CASE WHEN count(id) > 0 THEN now() END AS at
FROM (SELECT id FROM removed UNION ALL SELECT id FROM updated) AS done
CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: fail_job
-- `retry_in_ms` NULL means final: the job becomes failed (or is deleted when it is kept
-- for zero failures), and `wait_for_job` hears of it. Otherwise it waits again, delayed
-- by the backoff.
WITH target AS (
    SELECT id, keep_failed FROM pgqueue_jobs
    WHERE id = %(id)s AND lease = %(lease)s AND state = 'active'
),
removed AS (
    DELETE FROM pgqueue_jobs AS j
    USING target
    WHERE j.id = target.id AND j.lease = %(lease)s AND j.state = 'active'
      AND %(retry_in_ms)s::bigint IS NULL AND target.keep_failed = 0
    RETURNING j.id, j.queue, greatest(j.run_at, j.created_at) AS ready_at, j.processed_at
),
updated AS (
    UPDATE pgqueue_jobs AS j
    SET state = CASE WHEN %(retry_in_ms)s::bigint IS NULL THEN 'failed' ELSE 'waiting' END,
        run_at = CASE WHEN %(retry_in_ms)s::bigint IS NULL THEN j.run_at
                      ELSE now() + %(retry_in_ms)s::bigint * interval '1 millisecond' END,
        finished_at = CASE WHEN %(retry_in_ms)s::bigint IS NULL THEN now() END,
        failed_reason = %(reason)s,
        stacktrace = j.stacktrace || %(stack)s::text,
        lease = NULL, worker_id = NULL
    FROM target
    WHERE j.id = target.id AND j.lease = %(lease)s AND j.state = 'active'
      AND NOT (%(retry_in_ms)s::bigint IS NULL AND target.keep_failed IS NOT DISTINCT FROM 0)
    RETURNING j.id, j.queue, j.state, j.run_at, greatest(j.run_at, j.created_at) AS ready_at,
              j.processed_at
),
-- A final failure counts in the per-minute metrics (migration 0010; completions are
-- counted by the worker); a retry is not a finish and counts nothing. A job waited from
-- when it became ready: `greatest(run_at, created_at)`, since a LIFO job's `run_at` is a
-- sort key mirrored before 1970.
counted AS (
    INSERT INTO pgqueue_minute_deltas (queue, minute, completed, failed, wait_ms, run_ms)
    SELECT queue, date_trunc('minute', now()), 0, count(*),
           array_agg(greatest(0, extract(epoch FROM processed_at - ready_at) * 1000)::float8),
           array_agg(greatest(0, extract(epoch FROM now() - processed_at) * 1000)::float8)
    FROM (SELECT queue, ready_at, processed_at FROM removed
          UNION ALL SELECT queue, ready_at, processed_at FROM updated) AS done
    WHERE %(retry_in_ms)s::bigint IS NULL
    GROUP BY queue
),
notified AS (
    SELECT pg_notify(%(channel)s, queue)::text AS sent
    FROM (SELECT queue FROM removed UNION ALL SELECT queue FROM updated) AS done
    WHERE %(retry_in_ms)s::bigint IS NULL
)
SELECT done.id, done.state, done.run_at
FROM (
    SELECT id, 'removed' AS state, NULL::timestamptz AS run_at FROM removed
    UNION ALL SELECT id, state, run_at FROM updated
) AS done
CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: update_progress
UPDATE pgqueue_jobs SET progress = %(progress)s::jsonb
WHERE id = %(id)s AND lease = %(lease)s AND state = 'active'
RETURNING id;

-- name: add_job_log
INSERT INTO pgqueue_job_logs (job_id, message)
SELECT id, %(message)s FROM pgqueue_jobs
WHERE id = %(id)s AND lease = %(lease)s AND state = 'active'
RETURNING id;

-- name: release_jobs
-- Graceful shutdown puts unfinished jobs back in line where they were, and gives back
-- the attempt the shutdown interrupted. Rows are found by primary key, joined on id
-- alone, as completions are.
UPDATE pgqueue_jobs AS j
SET state = 'waiting', attempts_made = greatest(j.attempts_made - 1, 0), lease = NULL,
    worker_id = NULL, processed_at = NULL
FROM unnest(%(ids)s::bigint[], %(leases)s::uuid[]) AS r(id, lease)
WHERE j.id = r.id AND j.lease = r.lease AND j.state = 'active'
RETURNING j.id;

-- name: release_lost_claims
-- A claim whose answer never reached the worker (the connection broke after the commit)
-- leased jobs to a live worker that does not know it holds them, so no rescue would
-- reclaim them. The worker remembers the lease of every claim that raised and puts its
-- jobs back, giving back the attempt that never started.
UPDATE pgqueue_jobs
SET state = 'waiting', attempts_made = greatest(attempts_made - 1, 0), lease = NULL,
    worker_id = NULL, processed_at = NULL
WHERE worker_id = %(worker_id)s AND state = 'active' AND lease = ANY(%(leases)s::uuid[])
RETURNING id;
