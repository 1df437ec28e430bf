-- name: create_token
-- A token is stored only as its hash; the name is how an operator revokes it and how
-- the audit log names its holder. A taken name returns no row rather than an error.
INSERT INTO pgqueue_api_tokens (name, token_hash, role, expires_at, queues)
VALUES (%(name)s, %(token_hash)s, %(role)s,
        now() + %(ttl_seconds)s * interval '1 second', %(queues)s)
ON CONFLICT (name) DO NOTHING
RETURNING name, role, created_at, expires_at, queues;

-- name: find_token
-- Every authenticated request looks its token up by hash. The row comes back expired or
-- revoked too, so the caller can say which; last_used_at is written at most once a
-- minute per token, so busy clients do not turn each read into a write.
WITH found AS (
    SELECT id, name, role, queues, last_used_at,
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
SELECT found.name, found.role, found.queues, found.expired, found.revoked
FROM found
CROSS JOIN (SELECT count(*) FROM touched) AS t;

-- name: revoke_token
-- Revoking twice keeps the first revocation time. The dashboard sessions the token
-- opened end with it, in the same statement.
WITH revoked AS (
    UPDATE pgqueue_api_tokens
    SET revoked_at = coalesce(revoked_at, now())
    WHERE name = %(name)s
    RETURNING name
),
ended AS (
    UPDATE pgqueue_dashboard_sessions AS s
    SET ended_at = now()
    FROM revoked
    WHERE s.token_name = revoked.name AND s.ended_at IS NULL
    RETURNING s.id
)
SELECT name FROM revoked CROSS JOIN (SELECT count(*) FROM ended) AS e;

-- name: list_tokens
-- What `pgqueue token list` shows; never the hash.
SELECT name, role, queues, created_at, expires_at, revoked_at, last_used_at
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

-- name: start_session
-- A dashboard sign-in. Only the hash of the session id is kept; the cookie holds the id.
INSERT INTO pgqueue_dashboard_sessions (session_hash, actor, role, token_name, expires_at)
VALUES (%(session_hash)s, %(actor)s, %(role)s, %(token_name)s,
        now() + %(lifetime_seconds)s * interval '1 second');

-- name: touch_session
-- Every dashboard request: the session is alive if it was not ended, has not expired,
-- was used within the idle timeout and, when a token opened it, that token is still
-- valid. A live session's last use moves forward; a dead one returns no row.
UPDATE pgqueue_dashboard_sessions AS s
SET last_seen_at = now()
WHERE s.session_hash = %(session_hash)s
  AND s.ended_at IS NULL
  AND s.expires_at > now()
  AND s.last_seen_at > now() - %(idle_seconds)s * interval '1 second'
  AND (s.token_name IS NULL OR EXISTS (
        SELECT 1 FROM pgqueue_api_tokens AS t
        WHERE t.name = s.token_name AND t.revoked_at IS NULL
          AND (t.expires_at IS NULL OR t.expires_at > now())))
RETURNING s.actor, s.role;

-- name: end_session
-- Sign-out: the session is over for every copy of its cookie.
UPDATE pgqueue_dashboard_sessions
SET ended_at = coalesce(ended_at, now())
WHERE session_hash = %(session_hash)s
RETURNING actor, role;

-- name: prune_sessions
-- Sessions ended or expired more than a day ago are no longer worth keeping.
DELETE FROM pgqueue_dashboard_sessions
WHERE coalesce(ended_at, expires_at) < now() - interval '1 day';
