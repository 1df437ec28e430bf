"""Who may do what. Three roles, checked in one place for the API and the dashboard.

- ADMIN: everything.
- SERVICE: adds jobs, only to the queues its credential is scoped to, never to
  `cleanup`; reads nothing back.
- VIEWER: reads everything, changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgqueue.models import QueueName

ADMIN = "ADMIN"
SERVICE = "SERVICE"
VIEWER = "VIEWER"
ROLES = (ADMIN, SERVICE, VIEWER)
READERS = (ADMIN, VIEWER)
"""Roles that may read queues, jobs, schedules and the audit log."""
ADMIN_ONLY_QUEUES = frozenset({QueueName.CLEANUP.value})
"""Queues whose jobs delete things: only ADMIN may add to them."""

SUCCESS = "success"
"""An audited call's outcome when it worked; a failure records the error code instead."""


class Action:
    """The names of audited actions, shared by the API and the dashboard."""

    ADD_JOB = "add_job"
    PAUSE_QUEUE = "pause_queue"
    RESUME_QUEUE = "resume_queue"
    CLEAN_QUEUE = "clean_queue"
    RETRY_FAILED = "retry_failed_jobs"
    PROMOTE_DELAYED = "promote_delayed_jobs"
    RETRY_JOB = "retry_job"
    PROMOTE_JOB = "promote_job"
    REMOVE_JOB = "remove_job"
    CANCEL_JOB = "cancel_job"
    ADD_FLOW = "add_flow"
    SET_RATE_LIMIT = "set_rate_limit"
    SET_GLOBAL_CONCURRENCY = "set_global_concurrency"
    REMOVE_REPEATABLE = "remove_repeatable"
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"


@dataclass(frozen=True)
class Principal:
    """Who is calling. `actor` is the token's name or the JWT's `sub`; `queues` limits
    where a SERVICE credential may add jobs (None: anywhere its role allows); `token`
    names the stored token, if one was used, so that its revocation can end sessions."""

    actor: str
    role: str
    queues: tuple[str, ...] | None = None
    token: str | None = None
    expires: float | None = None
    """When the credential itself expires (a JWT's `exp`), as a Unix time."""

    @property
    def can_read(self) -> bool:
        return self.role in READERS

    def may_add_to(self, queue: str) -> bool:
        if self.role == ADMIN:
            return True
        if self.role != SERVICE or queue in ADMIN_ONLY_QUEUES:
            return False
        return self.queues is None or queue in self.queues

    @property
    def scope(self) -> str:
        """The scope as the audit log and `token list` show it."""
        return "*" if self.queues is None else ",".join(self.queues)
