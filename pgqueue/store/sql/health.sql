-- name: schema_revision
-- Readiness: the Alembic revision pgqueue's schema is at, read on the process's pool.
SELECT version_num FROM pgqueue_alembic_version;
