-- name: create_token
-- A token is stored only as its hash; the name is how an operator revokes it and how
-- the audit log names its holder. A taken name returns no row rather than an error.
INSERT INTO pgqueue_api_tokens (name, token_hash, role, expires_at)
VALUES (%(name)s, %(token_hash)s, %(role)s,
        now() + %(ttl_seconds)s * interval '1 second')
ON CONFLICT (name) DO NOTHING
RETURNING name, role, created_at, expires_at;

-- name: find_token
-- Every authenticated request looks its token up by hash. The row comes back expired or
-- revoked too, so the caller can say which; last_used_at is written at most once a
-- minute per token, so busy clients do not turn each read into a write.
WITH found AS (
    SELECT id, name, role, last_used_at,
           expires_at IS NOT NULL AND expires_at <= now() AS expired,
           revoked_at IS NOT NULL AS revoked
    FROM pgqueue_api_tokens
    WHERE token_hash = %(token_hash)s
),
touched AS (
    UPDATE pgqueue_api_tokens AS t
    SET last_used_at = now()
    FROM found
    WHERE t.id = found.id AND NOT found.expired AND NOT found.revoked
      AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
    RETURNING t.id
)
SELECT found.name, found.role, found.expired, found.revoked
FROM found
CROSS JOIN (SELECT count(*) FROM touched) AS t;

-- name: revoke_token
-- Revoking twice keeps the first revocation time.
UPDATE pgqueue_api_tokens
SET revoked_at = coalesce(revoked_at, now())
WHERE name = %(name)s
RETURNING name;

-- name: list_tokens
-- What `pgqueue token list` shows; never the hash.
SELECT name, role, created_at, expires_at, revoked_at, last_used_at
FROM pgqueue_api_tokens
ORDER BY created_at, id;

-- name: write_audit
-- One row per mutating admin call, whatever its outcome.
INSERT INTO pgqueue_audit_log (actor, role, action, queue, job_id, outcome, detail)
VALUES (%(actor)s, %(role)s, %(action)s, %(queue)s, %(job_id)s, %(outcome)s,
        %(detail)s::jsonb);

-- name: read_audit
-- The audit log, newest first, a page at a time (the created_at index).
SELECT id, created_at, actor, role, action, queue, job_id, outcome, detail
FROM pgqueue_audit_log
ORDER BY created_at DESC, id DESC
OFFSET %(offset)s
LIMIT %(limit)s;
