"""Store operations for API tokens and the audit log (SQL in `sql/auth.sql`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgqueue.store.ops import Op, Row, dumps
from pgqueue.store.queries import query


@dataclass(frozen=True)
class TokenRecord:
    """A stored token as its holder's request finds it: valid only if neither flag is set."""

    name: str
    role: str
    queues: tuple[str, ...] | None
    """The queues the token may add jobs to; None: every queue its role allows."""
    expired: bool
    revoked: bool


@dataclass(frozen=True)
class AuditEntry:
    """One mutating admin call: who, with which role, did what to which queue or job."""

    actor: str
    role: str | None
    action: str
    queue: str | None
    job_id: str | None
    outcome: str
    detail: dict[str, Any]


def create_token(
    name: str,
    token_hash: str,
    role: str,
    ttl_seconds: int,
    queues: Sequence[str] | None = None,
) -> Op[Row | None]:
    """The new token's row, or None when the name is taken. `queues` scopes the token."""
    return Op(
        query("create_token"),
        {
            "name": name,
            "token_hash": token_hash,
            "role": role,
            "ttl_seconds": ttl_seconds,
            "queues": None if queues is None else list(queues),
        },
        lambda rows: rows[0] if rows else None,
    )


def find_token(token_hash: str) -> Op[TokenRecord | None]:
    def read(rows: list[Row]) -> TokenRecord | None:
        if not rows:
            return None
        row = rows[0]
        queues = row["queues"]
        return TokenRecord(
            row["name"],
            row["role"],
            None if queues is None else tuple(queues),
            row["expired"],
            row["revoked"],
        )

    return Op(query("find_token"), {"token_hash": token_hash}, read)


def revoke_token(name: str) -> Op[bool]:
    return Op(query("revoke_token"), {"name": name}, bool)


def list_tokens() -> Op[list[Row]]:
    return Op(query("list_tokens"), {}, lambda rows: rows)


def write_audit(entry: AuditEntry) -> Op[None]:
    return Op(
        query("write_audit"),
        {
            "actor": entry.actor,
            "role": entry.role,
            "action": entry.action,
            "queue": entry.queue,
            "job_id": entry.job_id,
            "outcome": entry.outcome,
            "detail": dumps(entry.detail),
        },
        lambda rows: None,
    )


def read_audit(offset: int, limit: int) -> Op[list[Row]]:
    return Op(query("read_audit"), {"offset": offset, "limit": limit}, lambda rows: rows)


@dataclass(frozen=True)
class SessionStart:
    """A dashboard sign-in: who, as which role, through which token (None for a JWT)."""

    session_hash: str
    actor: str
    role: str
    token_name: str | None
    lifetime_seconds: int


def start_session(start: SessionStart) -> Op[None]:
    return Op(
        query("start_session"),
        {
            "session_hash": start.session_hash,
            "actor": start.actor,
            "role": start.role,
            "token_name": start.token_name,
            "lifetime_seconds": start.lifetime_seconds,
        },
        lambda rows: None,
    )


def touch_session(session_hash: str, idle_seconds: int) -> Op[tuple[str, str] | None]:
    """(actor, role) of a live session, which counts as used now; None when it ended."""
    return Op(
        query("touch_session"),
        {"session_hash": session_hash, "idle_seconds": idle_seconds},
        lambda rows: (rows[0]["actor"], rows[0]["role"]) if rows else None,
    )


def end_session(session_hash: str) -> Op[bool]:
    return Op(query("end_session"), {"session_hash": session_hash}, bool)


def prune_sessions() -> Op[None]:
    return Op(query("prune_sessions"), {}, lambda rows: None)
