"""Settings from the environment, and the queue table of the guide.

Every setting has a default that works on a laptop; production sets environment
variables. Settings are read when asked for, so a test or a CLI flag that changes the
environment before a component starts is honoured.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pgqueue.errors import ConfigurationError
from pgqueue.models import JobPriority, QueueName

T = TypeVar("T")


@dataclass(frozen=True)
class QueueConfig:
    name: str
    concurrency: int
    priority: JobPriority


QUEUES: dict[str, QueueConfig] = {
    q.name: q
    for q in (
        QueueConfig(QueueName.EMAIL.value, 5, JobPriority.NORMAL),
        QueueConfig(QueueName.REPORT.value, 2, JobPriority.NORMAL),
        QueueConfig(QueueName.PIPELINE.value, 10, JobPriority.HIGH),
        QueueConfig(QueueName.TEST.value, 5, JobPriority.NORMAL),
        QueueConfig(QueueName.DEPLOYMENT.value, 3, JobPriority.HIGH),
        QueueConfig(QueueName.NOTIFICATION.value, 10, JobPriority.NORMAL),
        QueueConfig(QueueName.CLEANUP.value, 1, JobPriority.LOW),
        QueueConfig(QueueName.ANALYTICS.value, 2, JobPriority.LOW),
    )
}

DEFAULT_CONCURRENCY = 1
"""Concurrency of a queue a user made up, unless the worker is told otherwise."""


def queue_config(name: str) -> QueueConfig:
    """The configuration of a queue; a user's own queue gets NORMAL priority, one slot."""
    return QUEUES.get(name) or QueueConfig(name, DEFAULT_CONCURRENCY, JobPriority.NORMAL)


def _parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _seconds(raw: str) -> float:
    value = float(raw)
    if not value >= 0:  # also refuses NaN
        raise ValueError(raw)
    return value


def _positive_seconds(raw: str) -> float:
    value = _seconds(raw)
    if value == 0:
        raise ValueError(raw)
    return value


def _env(name: str, default: T, parse: Callable[[str], T], what: str) -> T:
    """An environment setting, or a `ConfigurationError` naming the variable at fault."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be {what}, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything pgqueue reads from the environment, resolved once per component."""

    database_url: str | None = None
    home: Path = Path(".pgqueue")
    imports: tuple[str, ...] = ()
    artifacts_dir: Path = Path(".pgqueue/artifacts")
    temp_dir: Path = Path(".pgqueue/tmp")
    template_dir: Path | None = None
    jwt_secret: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    max_payload_bytes: int = 1_000_000
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    poll_interval: float = 1.0
    """Seconds between claims when no notification arrives; the only wake-up when LISTEN
    is unavailable (a transaction pooler without `direct_url`)."""
    shutdown_grace: float = 10.0
    connect_timeout: float = 60.0
    """Seconds a long-running process waits for the database at start before giving up."""
    pgbouncer: bool = False
    """`database_url` is a transaction pooler: no server-side prepared statements, and
    nothing that needs a session (LISTEN, session locks, migrations) is sent through it."""
    direct_url: str | None = None
    """The server itself, for what needs a session when `database_url` is a pooler."""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_secure: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "noreply@localhost"
    smtp_require_tls: bool | None = None
    """Refuse to send credentials without STARTTLS; None: true exactly when SMTP_USER is set."""
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_max_ttl: int = 86_400
    """The longest a JWT may live (`exp - iat`), in seconds."""
    auth_failures_per_minute: int = 20
    """Failed authentications one client address may make per minute before a 429."""
    metrics_token: str | None = None
    """When set, `/metrics` wants `Authorization: Bearer <this>`."""
    allow_raw_email: bool = False
    """Whether API callers may send email jobs with their own `html`/`text` bodies."""

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("PGQUEUE_HOME", ".pgqueue"))
        imports = tuple(
            m.strip() for m in os.environ.get("PGQUEUE_IMPORTS", "").split(",") if m.strip()
        )
        template_dir = os.environ.get("PGQUEUE_TEMPLATE_DIR")
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            home=home,
            imports=imports,
            artifacts_dir=Path(os.environ.get("PGQUEUE_ARTIFACTS_DIR", str(home / "artifacts"))),
            temp_dir=Path(os.environ.get("PGQUEUE_TEMP_DIR", str(home / "tmp"))),
            template_dir=Path(template_dir) if template_dir else None,
            jwt_secret=os.environ.get("PGQUEUE_JWT_SECRET") or None,
            api_host=os.environ.get("PGQUEUE_API_HOST", "127.0.0.1"),
            api_port=_env("PGQUEUE_API_PORT", 8000, int, "a port number"),
            max_payload_bytes=_env("PGQUEUE_MAX_PAYLOAD_BYTES", 1_000_000, int, "a whole number"),
            lease_seconds=_env("PGQUEUE_LEASE_SECONDS", 30.0, float, "a number of seconds"),
            heartbeat_seconds=_env("PGQUEUE_HEARTBEAT_SECONDS", 5.0, float, "a number of seconds"),
            poll_interval=_env(
                "PGQUEUE_POLL_INTERVAL", 1.0, _positive_seconds, "a number of seconds > 0"
            ),
            shutdown_grace=_env("PGQUEUE_SHUTDOWN_GRACE", 10.0, float, "a number of seconds"),
            connect_timeout=_env("PGQUEUE_CONNECT_TIMEOUT", 60.0, _seconds, "a number of seconds"),
            pgbouncer=_env("PGQUEUE_PGBOUNCER", False, _parse_bool, "true or false"),
            direct_url=os.environ.get("PGQUEUE_DIRECT_URL") or None,
            smtp_host=os.environ.get("SMTP_HOST", "localhost"),
            smtp_port=_env("SMTP_PORT", 587, int, "a port number"),
            smtp_secure=_env("SMTP_SECURE", False, _parse_bool, "true or false"),
            smtp_user=os.environ.get("SMTP_USER") or None,
            smtp_password=os.environ.get("SMTP_PASSWORD") or None,
            smtp_from=os.environ.get("SMTP_FROM", "noreply@localhost"),
            smtp_require_tls=_env("SMTP_REQUIRE_TLS", None, _parse_bool, "true or false"),
            jwt_audience=os.environ.get("PGQUEUE_JWT_AUDIENCE") or None,
            jwt_issuer=os.environ.get("PGQUEUE_JWT_ISSUER") or None,
            jwt_max_ttl=_env("PGQUEUE_JWT_MAX_TTL", 86_400, _positive, "a positive number of s"),
            auth_failures_per_minute=_env(
                "PGQUEUE_AUTH_FAILURES_PER_MINUTE", 20, _positive, "a positive whole number"
            ),
            metrics_token=os.environ.get("PGQUEUE_METRICS_TOKEN") or None,
            allow_raw_email=_env("PGQUEUE_EMAIL_ALLOW_RAW", False, _parse_bool, "true or false"),
        )
