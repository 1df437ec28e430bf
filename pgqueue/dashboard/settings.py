"""The dashboard's settings, read from the environment when the dashboard is built."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from pgqueue.errors import ConfigurationError

MIN_SECRET_LENGTH = 32


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


COOKIE_SECURE = {"auto": "auto", "always": "always", "true": "always", "never": "never"}
COOKIE_SECURE.update({"false": "never", "1": "always", "0": "never", "": "auto"})


def _cookie_secure(raw: str) -> str:
    found = COOKIE_SECURE.get(raw.strip().lower())
    if found is None:
        raise ConfigurationError(
            f"PGQUEUE_COOKIE_SECURE must be auto, always or never, got {raw!r}"
        )
    return found


@dataclass(frozen=True)
class DashboardSettings:
    """`session_secret` signs the session cookie. Without `PGQUEUE_SESSION_SECRET` it is
    random per process, so every session ends when the process restarts, and several
    API processes behind one load balancer do not accept each other's sessions."""

    session_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    session_hours: int = 8
    """The longest a session lives, however active."""
    idle_seconds: int = 1800
    """A session unused this long has ended (`PGQUEUE_SESSION_IDLE`)."""
    cookie_secure: str = "auto"
    """`auto`: the cookie is Secure when the request came over https; `always`: always
    (behind a TLS-terminating proxy that talks plain HTTP to us); `never`."""
    refresh_seconds: int = 5
    max_failed: int = 100
    """The guide's health check: more failed jobs than this in a queue is a warning."""
    max_waiting: int = 1000
    """The guide's health check: more waiting jobs than this in a queue is a warning."""
    page_size: int = 25

    @classmethod
    def from_env(cls) -> DashboardSettings:
        secret = os.environ.get("PGQUEUE_SESSION_SECRET", "")
        if secret and len(secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"PGQUEUE_SESSION_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
        return cls(
            session_secret=secret.encode() if secret else secrets.token_bytes(32),
            session_hours=_env_int("PGQUEUE_SESSION_HOURS", 8, 1),
            idle_seconds=_env_int("PGQUEUE_SESSION_IDLE", 1800, 1),
            cookie_secure=_cookie_secure(os.environ.get("PGQUEUE_COOKIE_SECURE", "auto")),
            refresh_seconds=_env_int("PGQUEUE_DASHBOARD_REFRESH", 5, 0),
            max_failed=_env_int("PGQUEUE_HEALTH_MAX_FAILED", 100, 0),
            max_waiting=_env_int("PGQUEUE_HEALTH_MAX_WAITING", 1000, 0),
        )
