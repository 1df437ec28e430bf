"""API tokens: how they are made, named, hashed and how long they live.

The database keeps only the SHA-256 of a token. A token carries 256 random bits, so a
plain hash is enough: there is nothing to guess, and a lookup is one indexed query.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence

from pgqueue.admin.roles import ROLES
from pgqueue.errors import InvalidJobError
from pgqueue.options import validate_queue

PREFIX = "pgq_"
"""Marks a pgqueue token in logs and secret scanners; a JWT never starts with it."""

DEFAULT_TTL = "30d"
MAX_TTL_SECONDS = 10 * 365 * 86_400
_TTL = re.compile(r"(\d{1,10})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}")


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_name(role: str) -> str:
    return f"{role.lower()}-{secrets.token_hex(4)}"


def parse_ttl(text: str) -> int:
    """`90s`, `15m`, `12h`, `30d` or `2w` as seconds."""
    found = _TTL.fullmatch(text.strip())
    if not found:
        raise InvalidJobError(f"ttl must be a number followed by s, m, h, d or w, got {text!r}")
    seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if not 1 <= seconds <= MAX_TTL_SECONDS:
        raise InvalidJobError(f"ttl must be between 1s and 10 years, got {text!r}")
    return seconds


def normalise_role(role: str) -> str:
    """Roles are compared in upper case: `admin` and `ADMIN` are one role. Only the known
    roles exist; anything else is refused rather than stored as a role nobody checks."""
    upper = role.strip().upper()
    if upper not in ROLES:
        raise InvalidJobError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return upper


def validate_queues(queues: Sequence[str]) -> tuple[str, ...] | None:
    """A token's queue scope; none given means every queue its role allows."""
    if not queues:
        return None
    return tuple(dict.fromkeys(validate_queue(q) for q in queues))


def validate_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidJobError(
            f"token name must be 1-128 letters, digits or _.@:- (starting with a letter or "
            f"digit), got {name!r}"
        )
    return name
