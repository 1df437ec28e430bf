"""Token scopes and server-side dashboard sessions.

A token may be limited to some queues (`queues`, NULL: every queue). Dashboard sessions
live in a table so that signing out, revoking the token that opened a session, or
leaving it idle ends it on the next request, whatever copy of the cookie is replayed.
Only the SHA-256 of a session id is stored, as with tokens.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE pgqueue_api_tokens ADD COLUMN queues text[]")
    op.execute(
        """
        CREATE TABLE pgqueue_dashboard_sessions (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_hash  text        NOT NULL UNIQUE,
            actor         text        NOT NULL,
            role          text        NOT NULL,
            token_name    text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            last_seen_at  timestamptz NOT NULL DEFAULT now(),
            expires_at    timestamptz NOT NULL,
            ended_at      timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX pgqueue_dashboard_sessions_token ON pgqueue_dashboard_sessions (token_name)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE pgqueue_dashboard_sessions")
    op.execute("ALTER TABLE pgqueue_api_tokens DROP COLUMN queues")
