"""API tokens and the admin audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tokens are stored only as a hash; the plain token is shown once, at creation.
    op.execute(
        """
        CREATE TABLE pgqueue_api_tokens (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name          text        NOT NULL UNIQUE,
            token_hash    text        NOT NULL UNIQUE,
            role          text        NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            expires_at    timestamptz,
            revoked_at    timestamptz,
            last_used_at  timestamptz
        )
        """
    )
    op.execute(
        """
        CREATE TABLE pgqueue_audit_log (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created_at  timestamptz NOT NULL DEFAULT now(),
            actor       text        NOT NULL,
            role        text,
            action      text        NOT NULL,
            queue       text,
            job_id      text,
            outcome     text        NOT NULL,
            detail      jsonb       NOT NULL DEFAULT '{}'
        )
        """
    )
    op.execute("CREATE INDEX pgqueue_audit_log_created ON pgqueue_audit_log (created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE pgqueue_audit_log")
    op.execute("DROP TABLE pgqueue_api_tokens")
