"""What the API and the dashboard share within one app: settings, the manager (the one
pool), the admin service beside it, the authenticator, sessions and the audit log.

The composition root (`pgqueue.asgi`) makes one and stores it on the app; both surfaces
find it through `admin_context(request)`. Nothing here opens a connection: the manager's
pool opens on first use, so an app mounted inside another one (whose lifespan Starlette
does not run) works from its first request.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from pgqueue.admin.audit import AuditLog
from pgqueue.admin.auth import Authenticator
from pgqueue.admin.sessions import Sessions
from pgqueue.config import Settings
from pgqueue.manager.admin import AdminService
from pgqueue.manager.aio import JobQueueManager

STATE_KEY = "pgqueue_admin"


@dataclass
class AdminContext:
    settings: Settings
    manager: JobQueueManager
    service: AdminService
    auth: Authenticator
    audit: AuditLog

    @classmethod
    def build(cls, manager: JobQueueManager, settings: Settings) -> AdminContext:
        service = AdminService(manager)
        return cls(settings, manager, service, Authenticator(service, settings), AuditLog(service))

    def sessions(self, idle_seconds: int, lifetime_seconds: int) -> Sessions:
        return Sessions(self.service, idle_seconds, lifetime_seconds)


def admin_context(request: Request) -> AdminContext:
    found: AdminContext | None = getattr(request.app.state, STATE_KEY, None)
    if found is None:
        raise RuntimeError("pgqueue's admin app is served without its context")
    return found


def client_address(request: Request) -> str:
    """The address failures are counted by (the proxy's client when uvicorn is told to
    trust the proxy with --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"
