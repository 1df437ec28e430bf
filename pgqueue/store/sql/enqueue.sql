-- name: enqueue_jobs
-- One statement for one job or ten thousand: the jobs arrive as parallel arrays and are
-- unnested server-side. A job whose key (job_id) exists in the queue is not inserted; the
-- existing row is returned instead, flagged `inserted = false`. Workers are woken with
-- one NOTIFY per statement whose payload is "<queue> <earliest run time in ms>" (rounded
-- up, so a timer set for it never fires before the job is due), sent only when the
-- surrounding transaction commits. (A CTE whose output nobody reads is
-- never evaluated, so each query that notifies reads `count(sent)` through a CROSS JOIN,
-- which the planner can neither drop nor answer without calling pg_notify.)
-- The arrays travel in binary, and inserted rows come back as ids and times only: the
-- caller already holds their names, data and options, and re-reading ten thousand JSON
-- documents it just sent would cost more than the insert.
WITH input AS (
    SELECT *
    FROM unnest(
        %(names)b::text[], %(datas)b::text[], %(opts)b::text[], %(priorities)b::smallint[],
        %(delays)b::bigint[], %(run_ats)b::timestamptz[], %(max_attempts)b::integer[],
        %(keys)b::text[], %(keep_completed)b::integer[], %(keep_completed_age)b::integer[],
        %(keep_failed)b::integer[], %(keep_failed_age)b::integer[]
    ) WITH ORDINALITY AS i(name, data, opts, priority, delay_ms, run_at, max_attempts, key,
                           keep_completed, keep_completed_age, keep_failed, keep_failed_age, ord)
),
ins AS (
    INSERT INTO pgqueue_jobs (queue, name, data, opts, priority, run_at, max_attempts, key,
                              keep_completed, keep_completed_age, keep_failed, keep_failed_age)
    SELECT %(queue)s, name, data::jsonb, opts::json, priority,
           coalesce(run_at, now() + delay_ms * interval '1 millisecond'),
           max_attempts, key, keep_completed, keep_completed_age, keep_failed, keep_failed_age
    FROM input
    ORDER BY ord
    ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING
    RETURNING id, key, run_at, created_at
),
notified AS (
    SELECT pg_notify(
        %(channel)s,
        %(queue)s || ' ' || ceil(extract(epoch FROM greatest(min(run_at), now())) * 1000)::bigint
    )::text AS sent
    FROM ins
    HAVING count(*) > 0
)
SELECT ins.id, ins.key, ins.run_at, ins.created_at, ins.run_at > now() AS delayed,
       true AS inserted, NULL::text AS queue, NULL::text AS name, NULL::jsonb AS data,
       NULL::json AS opts, NULL::text AS state, NULL::smallint AS priority,
       NULL::integer AS attempts_made, NULL::integer AS max_attempts, NULL::jsonb AS progress,
       NULL::text AS failed_reason, NULL::text[] AS stacktrace, NULL::jsonb AS return_value,
       NULL::timestamptz AS processed_at, NULL::timestamptz AS finished_at
FROM ins CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt
UNION ALL
SELECT j.id, j.key, j.run_at, j.created_at, j.run_at > now(), false, j.queue, j.name,
       j.data, j.opts, j.state, j.priority, j.attempts_made, j.max_attempts, j.progress,
       j.failed_reason, j.stacktrace, j.return_value, j.processed_at, j.finished_at
FROM pgqueue_jobs AS j
JOIN (SELECT DISTINCT key FROM input WHERE key IS NOT NULL) AS i ON j.key = i.key
WHERE j.queue = %(queue)s AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.key = i.key);


-- name: reserve_bulk_ids
-- A bulk load (`copy_jobs`) inserts rows whose ids are drawn here, from the table's own
-- identity sequence, in the same transaction; the sequence is looked up once (an
-- InitPlan, cast inside it), not per id. The ids rise in the order they are drawn, so
-- when they are `first` to `first + n - 1` (nobody drew one meanwhile, the sequence
-- counts by one) only `first` comes back, and `ids` lists them only otherwise: five
-- thousand ids cost more to send and parse than to draw. `now()` is the transaction's
-- time: the `created_at` every copied row gets by default, and where a delay starts,
-- as in `enqueue_jobs`.
SELECT min(id) AS first,
       CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL ELSE array_agg(id) END AS ids,
       now() AS now
FROM (SELECT nextval((SELECT pg_get_serial_sequence('pgqueue_jobs', 'id')::regclass)) AS id
      FROM generate_series(1, %(n)s)) AS drawn;

-- name: copy_jobs
-- Binary COPY for large keyless bulks: the fastest way into a table, with no statement to
-- plan and no arrays to build. Columns left out take their defaults. Ids come from
-- `reserve_bulk_ids` (COPY writes identity columns as given).
COPY pgqueue_jobs (id, name, data, queue, opts, priority, run_at, max_attempts,
                   keep_completed, keep_completed_age, keep_failed, keep_failed_age)
FROM STDIN (FORMAT BINARY);

-- name: notify_jobs_added
-- The wake-up `enqueue_jobs` sends, for a bulk load: "<queue> <earliest run time in ms>",
-- computed by the client (rounded up), sent when the transaction commits.
SELECT pg_notify(%(channel)s, %(queue)s || ' ' || %(at_ms)s::bigint) AS sent;
