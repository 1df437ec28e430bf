-- name: cancel_job
-- Waiting, delayed and active jobs can be cancelled; the job ends in `cancelled` at
-- once. Its lease is dropped, so whatever its worker later writes about it is refused,
-- and no rescue or retry picks it up again. Workers hear of an active job's cancellation
-- on the control channel; waiters (`wait_for_job`) on the finished channel.
WITH target AS (
    SELECT id, state FROM pgqueue_jobs
    WHERE queue = %(queue)s AND (id = %(id)s OR key = %(key)s)
    ORDER BY id = %(id)s DESC
    LIMIT 1
    FOR UPDATE
),
cancelled AS (
    UPDATE pgqueue_jobs AS j
    SET state = 'cancelled', finished_at = now(), cancelled_by = %(by)s, lease = NULL,
        worker_id = NULL
    FROM target
    WHERE j.id = target.id AND target.state IN ('waiting', 'active', 'waiting-children')
    RETURNING j.id, target.state AS was
),
notified AS (
    SELECT pg_notify(%(control_channel)s, 'cancel ' || %(queue)s || ' ' || id)::text AS sent
    FROM cancelled WHERE was = 'active'
    UNION ALL
    SELECT pg_notify(%(finished_channel)s, %(queue)s)::text FROM cancelled
)
SELECT target.id, target.state AS previous_state, cancelled.id IS NOT NULL AS cancelled
FROM target
LEFT JOIN cancelled ON true
CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: job_outcome
-- What `wait_for_job` looks at: the job, by id or key, with its derived-state flags.
SELECT j.*, j.run_at > now() AS delayed, coalesce(q.paused, false) AS paused
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.queue = %(queue)s AND (j.id = %(id)s OR j.key = %(key)s)
ORDER BY j.id = %(id)s DESC
LIMIT 1;

-- name: watch_job
-- `wait_for_job` registers the job it waits for, so that the batch completing it sends
-- a NOTIFY (see migration 0013). Reading the job `FOR SHARE` in the same statement is
-- what makes this race-free against a completion in flight: it waits for that
-- completion's commit. A job already ended (or gone) is not registered.
WITH job AS (
    SELECT id, state FROM pgqueue_jobs WHERE id = %(id)s FOR SHARE
),
registered AS (
    INSERT INTO pgqueue_job_waiters (job_id)
    SELECT id FROM job WHERE state NOT IN ('completed', 'failed', 'cancelled')
    RETURNING job_id
)
SELECT job.state, (SELECT count(*) FROM registered) AS registered FROM job;

-- name: unwatch_job
DELETE FROM pgqueue_job_waiters WHERE job_id = %(id)s AND pid = pg_backend_pid();

-- name: set_rate_limit
-- At most `rate_max` jobs of the queue start in any `rate_duration_ms` window. The
-- window's log is kept: tightening a limit takes effect against the starts already made.
WITH upserted AS (
    INSERT INTO pgqueue_queue_limits (queue, rate_max, rate_duration_ms)
    VALUES (%(queue)s, %(rate_max)s, %(rate_duration_ms)s)
    ON CONFLICT (queue) DO UPDATE
    SET rate_max = excluded.rate_max, rate_duration_ms = excluded.rate_duration_ms,
        updated_at = now()
    RETURNING queue
),
notified AS (
    SELECT pg_notify(%(control_channel)s, 'limits ' || queue)::text AS sent FROM upserted
)
SELECT upserted.queue FROM upserted CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: clear_rate_limit
-- A queue left with no limit at all loses its row, and with it the limited claim.
WITH dropped AS (
    DELETE FROM pgqueue_queue_limits WHERE queue = %(queue)s AND concurrency IS NULL
    RETURNING queue
),
cleared AS (
    UPDATE pgqueue_queue_limits
    SET rate_max = NULL, rate_duration_ms = NULL, recent_starts = '{}', updated_at = now()
    WHERE queue = %(queue)s AND concurrency IS NOT NULL
    RETURNING queue
),
notified AS (
    SELECT pg_notify(%(control_channel)s, 'limits ' || %(queue)s)::text AS sent
)
SELECT n FROM (SELECT count(sent) AS n FROM notified) AS nt
CROSS JOIN (SELECT count(*) FROM dropped) AS d
CROSS JOIN (SELECT count(*) FROM cleared) AS c;

-- name: set_global_concurrency
WITH upserted AS (
    INSERT INTO pgqueue_queue_limits (queue, concurrency)
    VALUES (%(queue)s, %(concurrency)s)
    ON CONFLICT (queue) DO UPDATE SET concurrency = excluded.concurrency, updated_at = now()
    RETURNING queue
),
notified AS (
    SELECT pg_notify(%(control_channel)s, 'limits ' || queue)::text AS sent FROM upserted
)
SELECT upserted.queue FROM upserted CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: clear_global_concurrency
WITH dropped AS (
    DELETE FROM pgqueue_queue_limits WHERE queue = %(queue)s AND rate_max IS NULL
    RETURNING queue
),
cleared AS (
    UPDATE pgqueue_queue_limits SET concurrency = NULL, updated_at = now()
    WHERE queue = %(queue)s AND rate_max IS NOT NULL
    RETURNING queue
),
notified AS (
    SELECT pg_notify(%(control_channel)s, 'limits ' || %(queue)s)::text AS sent
)
SELECT n FROM (SELECT count(sent) AS n FROM notified) AS nt
CROSS JOIN (SELECT count(*) FROM dropped) AS d
CROSS JOIN (SELECT count(*) FROM cleared) AS c;

-- name: limited_queues
-- Which of a worker's queues need the limited claim.
SELECT queue FROM pgqueue_queue_limits WHERE queue = ANY(%(queues)s::text[]);

-- name: queue_limits
-- Each limit with what it holds back right now: while the rate window or the
-- concurrency is full, every ready job of the queue is being held back by it.
SELECT l.queue, l.rate_max, l.rate_duration_ms, l.concurrency,
       (SELECT count(*) FROM unnest(l.recent_starts) AS s
        WHERE s > now() - l.rate_duration_ms * interval '1 millisecond') AS recent_starts,
       (SELECT count(*) FROM pgqueue_jobs AS j
        WHERE j.worker_id IS NOT NULL AND j.state = 'active' AND j.queue = l.queue) AS active,
       (SELECT count(*) FROM pgqueue_jobs AS j
        WHERE j.state = 'waiting' AND hashtext(j.queue) = hashtext(l.queue) AND j.queue = l.queue
          AND j.run_at <= now()) AS ready
FROM pgqueue_queue_limits AS l
WHERE %(queue)s::text IS NULL OR l.queue = %(queue)s
ORDER BY l.queue;

-- name: lock_queue_limits
-- The limited claim runs in a transaction that first takes its queue's limits row:
-- limited claims of one queue take turns across every process and host, and the claim
-- statement that follows, with a snapshot taken after the lock, sees every start and
-- every active job the claims before it made.
SELECT queue FROM pgqueue_queue_limits WHERE queue = %(queue)s FOR UPDATE;

-- name: claim_jobs_limited
-- `claim_jobs` for a queue with a limit: it claims no more than the rate window and the
-- global concurrency leave room for, logs the starts in the window, and says when to
-- try again if the rate held jobs back. Every start is stamped with the transaction's
-- time, and a claim counts every logged start later than its own time less the window
-- (later ones included): so no window of that length ever holds more than `rate_max`
-- starts, whatever order concurrent claims commit in. The first row always carries
-- `rate_wait_ms` and `concurrency_full`; its job columns are NULL when nothing was claimed.
WITH lim AS (
    SELECT rate_max, rate_duration_ms * interval '1 millisecond' AS span, concurrency,
           ARRAY(SELECT s FROM unnest(recent_starts) AS s
                 WHERE s > now() - rate_duration_ms * interval '1 millisecond') AS starts
    FROM pgqueue_queue_limits
    WHERE queue = %(queue)s
),
running AS (
    -- Read from the index of held jobs (see migration 0008).
    SELECT count(*) AS n FROM pgqueue_jobs
    WHERE worker_id IS NOT NULL AND state = 'active' AND queue = %(queue)s
),
room AS (
    SELECT greatest(least(
        %(limit)s::bigint,
        coalesce(lim.rate_max - cardinality(lim.starts), %(limit)s::bigint),
        coalesce(lim.concurrency - (SELECT n FROM running), %(limit)s::bigint)
    ), 0) AS n
    FROM lim
),
next AS (
    SELECT id
    FROM pgqueue_jobs
    WHERE state = 'waiting' AND hashtext(queue) = hashtext(%(queue)s) AND queue = %(queue)s
      AND run_at <= now()
      AND NOT EXISTS (SELECT 1 FROM pgqueue_queues WHERE name = %(queue)s AND paused)
    ORDER BY priority, run_at, id
    LIMIT coalesce((SELECT n FROM room), %(limit)s::bigint)
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE pgqueue_jobs AS j
    SET state = 'active', attempts_made = j.attempts_made + 1, processed_at = now(),
        lease = %(lease)s, worker_id = %(worker_id)s
    WHERE j.id = ANY(ARRAY(SELECT id FROM next))
    RETURNING j.id, j.queue, j.name, j.data::text AS data, j.opts::text AS opts, j.priority,
              j.run_at, j.attempts_made, j.max_attempts, j.key, j.progress, j.created_at,
              j.processed_at
),
logged AS (
    UPDATE pgqueue_queue_limits AS l
    SET recent_starts = lim.starts || array_fill(now(), ARRAY[(SELECT count(*) FROM claimed)::int])
    FROM lim
    WHERE l.queue = %(queue)s AND lim.rate_max IS NOT NULL
    RETURNING l.queue
),
meta AS (
    SELECT
        (SELECT CASE WHEN cardinality(lim.starts) + (SELECT count(*) FROM claimed) >= lim.rate_max
                THEN greatest(1, ceil(1000 * extract(epoch FROM
                    coalesce((SELECT min(s) FROM unnest(lim.starts) AS s), now())
                    + lim.span - clock_timestamp())))::bigint
                END
         FROM lim) AS rate_wait_ms,
        coalesce((SELECT (SELECT n FROM running) + (SELECT count(*) FROM claimed) >= lim.concurrency
                  FROM lim), false) AS concurrency_full,
        (SELECT count(*) FROM logged) AS logged
)
SELECT claimed.*, meta.rate_wait_ms, meta.concurrency_full
FROM meta LEFT JOIN claimed ON true;

-- name: cancelled_among
-- Which of a worker's running jobs were cancelled: the heartbeat's check, for a worker
-- whose LISTEN connection missed the notification (it was reconnecting).
SELECT id FROM pgqueue_jobs WHERE id = ANY(%(ids)s::bigint[]) AND state = 'cancelled';

-- name: reserve_job_ids
-- A flow knows its ids before it inserts: children name their parent in the same
-- statement that inserts both.
SELECT nextval(pg_get_serial_sequence('pgqueue_jobs', 'id')) AS id
FROM generate_series(1, %(n)s);

-- name: insert_flow
-- A whole flow in one statement, ids reserved beforehand. A node with children waits in
-- `waiting-children` until they end (see migration 0009); leaves wait as any job, and
-- their queues' workers are woken, one NOTIFY per queue.
WITH input AS (
    SELECT *
    FROM unnest(
        %(ids)s::bigint[], %(queues)s::text[], %(names)s::text[], %(datas)s::text[],
        %(opts)s::text[], %(priorities)s::smallint[], %(delays)s::bigint[],
        %(run_ats)s::timestamptz[], %(max_attempts)s::integer[],
        %(keep_completed)s::integer[], %(keep_completed_age)s::integer[],
        %(keep_failed)s::integer[], %(keep_failed_age)s::integer[], %(parents)s::bigint[],
        %(pending)s::integer[]
    ) AS i(id, queue, name, data, opts, priority, delay_ms, run_at, max_attempts,
           keep_completed, keep_completed_age, keep_failed, keep_failed_age, parent_id,
           pending)
),
ins AS (
    INSERT INTO pgqueue_jobs (id, queue, name, data, opts, state, priority, run_at,
                              max_attempts, keep_completed, keep_completed_age, keep_failed,
                              keep_failed_age, parent_id, pending_children)
    OVERRIDING SYSTEM VALUE
    SELECT id, queue, name, data::jsonb, opts::json,
           CASE WHEN pending > 0 THEN 'waiting-children' ELSE 'waiting' END, priority,
           coalesce(run_at, now() + delay_ms * interval '1 millisecond'), max_attempts,
           keep_completed, keep_completed_age, keep_failed, keep_failed_age, parent_id,
           nullif(pending, 0)
    FROM input
    RETURNING id, queue, state, run_at, created_at
),
notified AS (
    SELECT pg_notify(
        %(channel)s,
        queue || ' ' || ceil(extract(epoch FROM greatest(min(run_at), now())) * 1000)::bigint
    )::text AS sent
    FROM ins
    WHERE state = 'waiting'
    GROUP BY queue
)
SELECT ins.id, ins.state, ins.run_at, ins.created_at, ins.run_at > now() AS delayed
FROM ins CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt;

-- name: children_values
-- What a parent's processor reads: each completed child's return value, by child id.
SELECT children_values FROM pgqueue_jobs WHERE id = %(id)s;

-- name: job_children
SELECT j.*, j.run_at > now() AS delayed, coalesce(q.paused, false) AS paused
FROM pgqueue_jobs AS j
LEFT JOIN pgqueue_queues AS q ON q.name = j.queue
WHERE j.parent_id = (
    SELECT id FROM pgqueue_jobs
    WHERE queue = %(queue)s AND (id = %(id)s OR key = %(key)s)
    ORDER BY id = %(id)s DESC
    LIMIT 1
)
ORDER BY j.id;

-- name: job_parent
SELECT p.*, p.run_at > now() AS delayed, coalesce(q.paused, false) AS paused
FROM pgqueue_jobs AS j
JOIN pgqueue_jobs AS p ON p.id = j.parent_id
LEFT JOIN pgqueue_queues AS q ON q.name = p.queue
WHERE j.queue = %(queue)s AND (j.id = %(id)s OR j.key = %(key)s)
ORDER BY j.id = %(id)s DESC
LIMIT 1;
