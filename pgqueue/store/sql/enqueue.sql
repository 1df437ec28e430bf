-- name: enqueue_jobs
-- One statement for one job or ten thousand: the jobs arrive as parallel arrays and are
-- unnested server-side. A job whose key (job_id) exists in the queue is not inserted; the
-- existing row is returned instead, flagged `inserted = false`. Workers are woken with
-- one NOTIFY per statement whose payload is "<queue> <earliest run time in ms>", sent
-- only when the surrounding transaction commits. (A CTE whose output nobody reads is
-- never evaluated, so each query that notifies reads `count(sent)` through a CROSS JOIN,
-- which the planner can neither drop nor answer without calling pg_notify.)
WITH input AS (
    SELECT *
    FROM unnest(
        %(names)s::text[], %(datas)s::text[], %(opts)s::text[], %(priorities)s::smallint[],
        %(delays)s::bigint[], %(run_ats)s::timestamptz[], %(max_attempts)s::integer[],
        %(keys)s::text[], %(keep_completed)s::integer[], %(keep_completed_age)s::integer[],
        %(keep_failed)s::integer[], %(keep_failed_age)s::integer[]
    ) WITH ORDINALITY AS i(name, data, opts, priority, delay_ms, run_at, max_attempts, key,
                           keep_completed, keep_completed_age, keep_failed, keep_failed_age, ord)
),
ins AS (
    INSERT INTO pgqueue_jobs (queue, name, data, opts, priority, run_at, max_attempts, key,
                              keep_completed, keep_completed_age, keep_failed, keep_failed_age)
    SELECT %(queue)s, name, data::jsonb, opts::jsonb, priority,
           coalesce(run_at, now() + delay_ms * interval '1 millisecond'),
           max_attempts, key, keep_completed, keep_completed_age, keep_failed, keep_failed_age
    FROM input
    ORDER BY ord
    ON CONFLICT (queue, key) WHERE key IS NOT NULL DO NOTHING
    RETURNING *
),
notified AS (
    SELECT pg_notify(
        'pgqueue_jobs',
        %(queue)s || ' ' || (extract(epoch FROM greatest(min(run_at), now())) * 1000)::bigint
    )::text AS sent
    FROM ins
    HAVING count(*) > 0
)
SELECT ins.*, ins.run_at > now() AS delayed, true AS inserted, false AS paused
FROM ins CROSS JOIN (SELECT count(sent) AS n FROM notified) AS nt
UNION ALL
SELECT j.*, j.run_at > now() AS delayed, false AS inserted, false AS paused
FROM pgqueue_jobs AS j
JOIN (SELECT DISTINCT key FROM input WHERE key IS NOT NULL) AS i ON j.key = i.key
WHERE j.queue = %(queue)s AND NOT EXISTS (SELECT 1 FROM ins WHERE ins.key = i.key);

