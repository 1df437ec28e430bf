-- name: finished_job_timings
-- The /metrics histograms: for jobs of the given queues that finished in the last
-- `window_seconds`, how many ran (and waited) at most each bound, with totals. Run time
-- is the last attempt's (processed_at to finished_at); wait is from ready to started
-- (run_at to processed_at). The (queue, state, finished_at) index bounds the read.
WITH recent AS (
    SELECT queue,
           greatest(extract(epoch FROM finished_at - processed_at), 0)::float8 AS run_s,
           greatest(extract(epoch FROM processed_at - run_at), 0)::float8 AS wait_s
    FROM pgqueue_jobs
    WHERE queue = ANY(%(queues)s::text[])
      AND state IN ('completed', 'failed')
      AND finished_at >= now() - %(window_seconds)s * interval '1 second'
      AND processed_at IS NOT NULL
)
SELECT r.queue, b.bound,
       count(*) FILTER (WHERE r.run_s <= b.bound) AS run_le,
       count(*) FILTER (WHERE r.wait_s <= b.bound) AS wait_le,
       count(*) AS n,
       sum(r.run_s) AS run_sum,
       sum(r.wait_s) AS wait_sum
FROM recent AS r
CROSS JOIN unnest(%(bounds)s::float8[]) AS b(bound)
GROUP BY r.queue, b.bound
ORDER BY r.queue, b.bound;

-- name: retrying_jobs
-- Jobs waiting for another attempt after a failed one, per queue (ready rows only).
SELECT queue, count(*) AS n
FROM pgqueue_jobs
WHERE state = 'waiting' AND attempts_made > 0
GROUP BY queue;
