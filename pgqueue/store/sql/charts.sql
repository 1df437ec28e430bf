-- name: fold_minutes
-- The maintenance pass folds closed minutes (older than the last full one, so that a
-- finishing transaction still open at the minute's end is in) from the appended deltas
-- into one row per (queue, minute) and one for all queues ('*'), with exact medians.
-- A batch is bounded; a minute split across two passes merges its counts exactly and
-- its medians weighted by job count. Deltas another pass holds are left to it.
WITH taken AS (
    DELETE FROM pgqueue_minute_deltas
    WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM pgqueue_minute_deltas
        WHERE minute < date_trunc('minute', now()) - interval '1 minute'
        ORDER BY minute
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING queue, minute, completed, failed, wait_ms, run_ms
),
counts AS (
    SELECT coalesce(queue, '*') AS queue, minute,
           sum(completed)::integer AS completed, sum(failed)::integer AS failed
    FROM taken
    GROUP BY GROUPING SETS ((queue, minute), (minute))
),
waits AS (
    SELECT coalesce(t.queue, '*') AS queue, t.minute,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w.ms) AS median
    FROM taken AS t CROSS JOIN LATERAL unnest(t.wait_ms) AS w(ms)
    GROUP BY GROUPING SETS ((t.queue, t.minute), (t.minute))
),
runs AS (
    SELECT coalesce(t.queue, '*') AS queue, t.minute,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms) AS median
    FROM taken AS t CROSS JOIN LATERAL unnest(t.run_ms) AS r(ms)
    GROUP BY GROUPING SETS ((t.queue, t.minute), (t.minute))
)
INSERT INTO pgqueue_minute_metrics AS m
    (queue, minute, completed, failed, wait_median_ms, run_median_ms)
SELECT c.queue, c.minute, c.completed, c.failed, w.median, r.median
FROM counts AS c
LEFT JOIN waits AS w ON w.queue = c.queue AND w.minute = c.minute
LEFT JOIN runs AS r ON r.queue = c.queue AND r.minute = c.minute
ON CONFLICT (queue, minute) DO UPDATE SET
    completed = m.completed + excluded.completed,
    failed = m.failed + excluded.failed,
    wait_median_ms = CASE
        WHEN m.wait_median_ms IS NULL THEN excluded.wait_median_ms
        WHEN excluded.wait_median_ms IS NULL THEN m.wait_median_ms
        ELSE (m.wait_median_ms * (m.completed + m.failed)
              + excluded.wait_median_ms * (excluded.completed + excluded.failed))
             / greatest(1, m.completed + m.failed + excluded.completed + excluded.failed)
    END,
    run_median_ms = CASE
        WHEN m.run_median_ms IS NULL THEN excluded.run_median_ms
        WHEN excluded.run_median_ms IS NULL THEN m.run_median_ms
        ELSE (m.run_median_ms * (m.completed + m.failed)
              + excluded.run_median_ms * (excluded.completed + excluded.failed))
             / greatest(1, m.completed + m.failed + excluded.completed + excluded.failed)
    END
RETURNING m.minute;

-- name: prune_minute_metrics
-- Folded minutes are kept for a week (charts show a day), a bounded batch per pass.
DELETE FROM pgqueue_minute_metrics
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM pgqueue_minute_metrics
    WHERE minute < now() - %(keep_seconds)s * interval '1 second'
    LIMIT %(limit)s
))
RETURNING minute;

-- name: minute_metrics
-- One row per minute of the last `minutes`, oldest first, for a queue or '*' (all):
-- folded minutes from pgqueue_minute_metrics, the rest from the deltas not folded yet.
-- Both indexes are read by minute only, within the window.
WITH window_start AS (
    SELECT date_trunc('minute', now()) - (%(minutes)s - 1) * interval '1 minute' AS since
),
deltas AS (
    SELECT d.minute, d.completed, d.failed, d.wait_ms, d.run_ms
    FROM pgqueue_minute_deltas AS d, window_start AS ws
    WHERE d.minute >= ws.since AND (%(queue)s = '*' OR d.queue = %(queue)s)
),
fresh AS (
    SELECT d.minute, sum(d.completed)::integer AS completed, sum(d.failed)::integer AS failed,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w.ms)
            FROM deltas AS d2 CROSS JOIN LATERAL unnest(d2.wait_ms) AS w(ms)
            WHERE d2.minute = d.minute) AS wait_median_ms,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms)
            FROM deltas AS d2 CROSS JOIN LATERAL unnest(d2.run_ms) AS r(ms)
            WHERE d2.minute = d.minute) AS run_median_ms
    FROM deltas AS d
    GROUP BY d.minute
),
folded AS (
    SELECT m.minute, m.completed, m.failed, m.wait_median_ms, m.run_median_ms
    FROM pgqueue_minute_metrics AS m, window_start AS ws
    WHERE m.queue = %(queue)s AND m.minute >= ws.since
)
SELECT g.minute,
       coalesce(f.completed, 0) + coalesce(r.completed, 0) AS completed,
       coalesce(f.failed, 0) + coalesce(r.failed, 0) AS failed,
       CASE WHEN f.wait_median_ms IS NULL THEN r.wait_median_ms
            WHEN r.wait_median_ms IS NULL THEN f.wait_median_ms
            ELSE (f.wait_median_ms * (f.completed + f.failed)
                  + r.wait_median_ms * (r.completed + r.failed))
                 / greatest(1, f.completed + f.failed + r.completed + r.failed)
       END AS wait_median_ms,
       CASE WHEN f.run_median_ms IS NULL THEN r.run_median_ms
            WHEN r.run_median_ms IS NULL THEN f.run_median_ms
            ELSE (f.run_median_ms * (f.completed + f.failed)
                  + r.run_median_ms * (r.completed + r.failed))
                 / greatest(1, f.completed + f.failed + r.completed + r.failed)
       END AS run_median_ms
FROM window_start AS ws
CROSS JOIN LATERAL generate_series(
    ws.since, date_trunc('minute', now()), interval '1 minute'
) AS g(minute)
LEFT JOIN folded AS f ON f.minute = g.minute
LEFT JOIN fresh AS r ON r.minute = g.minute
ORDER BY g.minute;

-- name: add_completed_minute
-- A worker's completions of one queue in one minute, counted in memory and sent about
-- once a second (worker/minutes.py); failures are counted by `fail_job` itself.
INSERT INTO pgqueue_minute_deltas (queue, minute, completed, failed, wait_ms, run_ms)
VALUES (%(queue)s, %(minute)s, %(completed)s, 0, %(wait_ms)s::float8[], %(run_ms)s::float8[]);
