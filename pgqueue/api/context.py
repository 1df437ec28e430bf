"""What every API handler reaches through the app: the admin core's shared context and
the API's own metrics. One instance per app, made by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from pgqueue.admin.context import AdminContext
from pgqueue.api.metrics import Metrics
from pgqueue.config import Settings
from pgqueue.manager.aio import JobQueueManager

STATE_KEY = "pgqueue_api"


@dataclass
class ApiContext:
    admin: AdminContext
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.admin.audit.observers.append(self.metrics.admin_action)

    @property
    def settings(self) -> Settings:
        return self.admin.settings

    @property
    def manager(self) -> JobQueueManager:
        return self.admin.manager


def context(request: Request) -> ApiContext:
    found: ApiContext | None = getattr(request.app.state, STATE_KEY, None)
    if found is None:
        raise RuntimeError("the pgqueue API is served without its context")
    return found
