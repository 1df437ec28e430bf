"""What every request handler reaches through the app: the manager, the API's own store,
settings and metrics. One instance per app, made by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from pgqueue.api.metrics import Metrics
from pgqueue.api.store import ApiStore
from pgqueue.config import Settings
from pgqueue.manager.aio import JobQueueManager


@dataclass
class ApiContext:
    settings: Settings
    manager: JobQueueManager
    store: ApiStore
    metrics: Metrics


def context(request: Request) -> ApiContext:
    found: ApiContext | None = getattr(request.app.state, "pgqueue", None)
    if found is None:
        raise RuntimeError("the pgqueue API is served outside its lifespan")
    return found
