-- name: delete_expired_tokens
-- An expired token can never authenticate again; the audit log keeps what it did.
DELETE FROM pgqueue_api_tokens
WHERE expires_at < now()
RETURNING name, role, expires_at;

-- name: take_old_job_logs
-- One batch of log lines older than the cutoff, deleted and returned with their job's
-- queue and name for the archive. The caller writes the archive inside the same
-- transaction, so lines are deleted only once they are safely written.
WITH doomed AS (
    SELECT id
    FROM pgqueue_job_logs
    WHERE created_at < now() - %(older_than_seconds)s * interval '1 second'
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
taken AS (
    DELETE FROM pgqueue_job_logs AS l
    USING doomed
    WHERE l.id = doomed.id
    RETURNING l.id, l.job_id, l.created_at, l.message
)
SELECT taken.id, taken.job_id, j.queue, j.name AS job_name, taken.created_at, taken.message
FROM taken
LEFT JOIN pgqueue_jobs AS j ON j.id = taken.job_id
ORDER BY taken.id;
