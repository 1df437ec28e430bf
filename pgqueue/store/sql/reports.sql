-- name: report_pipeline_summary
-- The pipeline report's figures: runs of one pipeline (jobs of the pipeline queue whose
-- data names it) created in [start, end). A run's duration is its last attempt's,
-- finished_at - processed_at, over finished runs. Reports run rarely, so reading every
-- row of the queue in the period without an index on data->>'pipelineId' is fine.
SELECT count(*) AS runs,
       count(*) FILTER (WHERE state = 'completed') AS completed,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE pgqueue_job_state(state, run_at, false) = 'delayed') AS delayed,
       count(*) FILTER (WHERE pgqueue_job_state(state, run_at, false) = 'waiting') AS waiting,
       (count(*) FILTER (WHERE state = 'completed'))::float8
           / nullif(count(*) FILTER (WHERE state IN ('completed', 'failed')), 0) AS success_rate,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM finished_at - processed_at)::float8
       ) FILTER (WHERE state IN ('completed', 'failed')) AS duration_p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY extract(epoch FROM finished_at - processed_at)::float8
       ) FILTER (WHERE state IN ('completed', 'failed')) AS duration_p95_seconds
FROM pgqueue_jobs
WHERE queue = %(queue)s AND data ->> 'pipelineId' = %(pipeline_id)s
  AND created_at >= %(start)s AND created_at < %(end)s;

-- name: report_pipeline_failures
-- Why the pipeline's runs in the period failed, most frequent reason first.
SELECT coalesce(failed_reason, '') AS reason, count(*) AS runs
FROM pgqueue_jobs
WHERE queue = %(queue)s AND data ->> 'pipelineId' = %(pipeline_id)s
  AND created_at >= %(start)s AND created_at < %(end)s AND state = 'failed'
GROUP BY 1
ORDER BY runs DESC, reason;

-- name: report_pipeline_runs
-- One line per run of the pipeline in the period, oldest first: the report's table.
SELECT id::text AS id, name,
       pgqueue_job_state(state, run_at, false) AS state,
       attempts_made, created_at, processed_at, finished_at,
       CASE WHEN state IN ('completed', 'failed')
            THEN extract(epoch FROM finished_at - processed_at)::float8 END AS duration_seconds,
       failed_reason
FROM pgqueue_jobs
WHERE queue = %(queue)s AND data ->> 'pipelineId' = %(pipeline_id)s
  AND created_at >= %(start)s AND created_at < %(end)s
ORDER BY created_at, id;

-- name: report_test_coverage
-- Coverage per UTC day (of the run's creation) of one project's completed test runs,
-- plus the whole period (the row whose day is NULL). `coverage` is the number a test
-- processor returns in return_value.coverage; runs that return none are counted but
-- not averaged. "latest" is the coverage of the run that finished last.
WITH runs AS (
    SELECT id, (created_at AT TIME ZONE 'UTC')::date AS day, finished_at,
           CASE WHEN jsonb_typeof(return_value -> 'coverage') = 'number'
                THEN (return_value -> 'coverage')::float8 END AS coverage
    FROM pgqueue_jobs
    WHERE queue = %(queue)s AND state = 'completed' AND data ->> 'projectId' = %(project_id)s
      AND created_at >= %(start)s AND created_at < %(end)s
)
SELECT day,
       count(*) AS runs,
       count(coverage) AS runs_with_coverage,
       avg(coverage) AS average,
       min(coverage) AS minimum,
       max(coverage) AS maximum,
       (array_agg(coverage ORDER BY finished_at, id) FILTER (WHERE coverage IS NOT NULL))[1]
           AS first,
       (array_agg(coverage ORDER BY finished_at DESC, id DESC)
           FILTER (WHERE coverage IS NOT NULL))[1] AS latest
FROM runs
GROUP BY GROUPING SETS ((day), ())
ORDER BY day NULLS FIRST;

-- name: report_security_findings
-- Findings of completed security-scan jobs (of any queue but the report queue, whose
-- jobs of that name are the reports themselves) created in the period, optionally of
-- one project. return_value.vulnerabilities is either a list of findings, each with a
-- `severity`, or an object of counts by severity; anything else counts as no finding.
-- Rows with a scan id are per scan and severity (a scan without findings has one row
-- with severity NULL); rows without are the period's totals by severity.
WITH scans AS (
    SELECT id, queue, data ->> 'projectId' AS project_id, finished_at,
           return_value -> 'vulnerabilities' AS found
    FROM pgqueue_jobs
    WHERE name = %(name)s AND queue <> %(report_queue)s AND state = 'completed'
      AND created_at >= %(start)s AND created_at < %(end)s
      AND (%(project_id)s::text IS NULL OR data ->> 'projectId' = %(project_id)s)
),
findings AS (
    SELECT s.id, lower(coalesce(f.item ->> 'severity', 'unknown')) AS severity,
           1::numeric AS n
    FROM scans AS s
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(s.found) = 'array' THEN s.found ELSE '[]'::jsonb END
    ) AS f(item)
    UNION ALL
    SELECT s.id, lower(c.key), (c.value)::numeric
    FROM scans AS s
    CROSS JOIN LATERAL jsonb_each(
        CASE WHEN jsonb_typeof(s.found) = 'object' THEN s.found ELSE '{}'::jsonb END
    ) AS c
    WHERE jsonb_typeof(c.value) = 'number'
)
SELECT s.id, s.queue, s.project_id, s.finished_at, f.severity,
       coalesce(round(sum(f.n)), 0)::bigint AS findings
FROM scans AS s
LEFT JOIN findings AS f ON f.id = s.id
GROUP BY GROUPING SETS ((s.id, s.queue, s.project_id, s.finished_at, f.severity), (f.severity))
ORDER BY s.finished_at NULLS FIRST, s.id NULLS FIRST, f.severity;

-- name: report_queue_analytics
-- Every queue's finished jobs in the period, per UTC day of finishing, per queue over
-- the period (day NULL) and over all queues (queue NULL). Wait is how long the last
-- attempt stood ready before a worker took it (processed_at - run_at: a delay or a
-- backoff is not waiting); run time is that attempt's finished_at - processed_at. The
-- (queue, state, finished_at) index serves the filter.
WITH finished AS (
    SELECT queue, state, (finished_at AT TIME ZONE 'UTC')::date AS day,
           greatest(extract(epoch FROM processed_at - run_at)::float8, 0) AS wait,
           extract(epoch FROM finished_at - processed_at)::float8 AS run
    FROM pgqueue_jobs
    WHERE state IN ('completed', 'failed')
      AND finished_at >= %(start)s AND finished_at < %(end)s
)
SELECT queue, day,
       count(*) FILTER (WHERE state = 'completed') AS completed,
       count(*) FILTER (WHERE state = 'failed') AS failed,
       (count(*) FILTER (WHERE state = 'failed'))::float8 / nullif(count(*), 0) AS failure_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS wait_p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY wait) AS wait_p95_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY run) AS run_p50_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY run) AS run_p95_seconds
FROM finished
GROUP BY GROUPING SETS ((queue, day), (queue), ())
ORDER BY queue NULLS FIRST, day NULLS FIRST;

-- name: report_audit_log
-- The admin audit trail in the period, oldest first: the audit-log report's table.
SELECT id::text AS id, created_at, actor, role, action, queue, job_id, outcome, detail
FROM pgqueue_audit_log
WHERE created_at >= %(start)s AND created_at < %(end)s
ORDER BY created_at, id;

-- name: report_audit_summary
-- Entries of the audit trail in the period by action, by outcome and by actor, and in
-- all (dimension 'total'); the created_at index serves the filter.
SELECT CASE WHEN GROUPING(action) = 0 THEN 'action'
            WHEN GROUPING(outcome) = 0 THEN 'outcome'
            WHEN GROUPING(actor) = 0 THEN 'actor'
            ELSE 'total' END AS dimension,
       coalesce(action, outcome, actor) AS value,
       count(*) AS entries
FROM pgqueue_audit_log
WHERE created_at >= %(start)s AND created_at < %(end)s
GROUP BY GROUPING SETS ((action), (outcome), (actor), ())
ORDER BY dimension, entries DESC, value;
