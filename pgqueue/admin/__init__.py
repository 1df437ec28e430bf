"""The admin core beneath the REST API and the dashboard: roles, credentials (tokens,
JWTs, dashboard sessions), the failure limiter, the audit log and the error codes both
surfaces answer with. Neither surface imports the other; both import this."""
