"""Dashboard sessions, kept server-side.

The browser holds a random session id; the database holds its SHA-256, who signed in,
with which role and through which token. Every request checks the row, so signing out,
revoking that token, or leaving the session idle past `idle_seconds` ends it on the next
request, whatever copy of the cookie is replayed.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from pgqueue.admin.roles import Principal
from pgqueue.manager.admin import AdminService, SessionStart


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Sessions:
    def __init__(self, service: AdminService, idle_seconds: int, lifetime_seconds: int) -> None:
        self._service = service
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds

    async def start(self, principal: Principal) -> tuple[str, int]:
        """A new session for `principal`: its id (for the cookie and nowhere else) and
        its lifetime in seconds, which never outlasts the credential that opened it.
        Sessions over for a day are deleted on the way, so the table stays small."""
        await self._service.prune_sessions()
        lifetime = self.lifetime_seconds
        if principal.expires is not None:
            lifetime = max(1, min(lifetime, int(principal.expires - time.time())))
        session_id = secrets.token_urlsafe(32)
        await self._service.start_session(
            SessionStart(
                _hash(session_id), principal.actor, principal.role, principal.token, lifetime
            )
        )
        return session_id, lifetime

    async def check(self, session_id: str) -> tuple[str, str] | None:
        """(actor, role) while the session lives; each check counts as activity."""
        return await self._service.touch_session(_hash(session_id), self.idle_seconds)

    async def end(self, session_id: str) -> None:
        await self._service.end_session(_hash(session_id))
