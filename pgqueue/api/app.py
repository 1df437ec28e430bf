"""The admin API as a Starlette app: the guide's routes under `/api/v1/jobs`, the OpenAPI
document, health, readiness and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from pgqueue.api import health, openapi
from pgqueue.api.context import ApiContext
from pgqueue.api.errors import EXCEPTION_HANDLERS
from pgqueue.api.metrics import Metrics
from pgqueue.api.routes import audit, jobs, queues, repeatable
from pgqueue.api.store import ApiStore
from pgqueue.config import Settings
from pgqueue.dashboard import api_services
from pgqueue.manager.aio import JobQueueManager

PREFIX = "/api/v1/jobs"
OPENAPI_PATH = "/api/v1/openapi.json"


def api_routes() -> list[BaseRoute]:
    """The routes the OpenAPI document describes."""
    routes: list[BaseRoute] = [
        Mount(PREFIX, routes=[*queues.ROUTES, *jobs.ROUTES, *repeatable.ROUTES, *audit.ROUTES]),
        *health.ROUTES,
    ]
    routes.append(Route(OPENAPI_PATH, openapi.endpoint(routes), methods=["GET"]))
    return routes


def create_app(
    manager: JobQueueManager | None = None, settings: Settings | None = None
) -> Starlette:
    """With a `manager`, the app uses it and leaves it open; without one, the lifespan
    opens a manager on `settings.database_url` (None: the environment) and closes it."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        resolved = settings or (manager.settings if manager else Settings.from_env())
        async with AsyncExitStack() as stack:
            used = manager
            if used is None:
                used = await stack.enter_async_context(
                    JobQueueManager(resolved.database_url, settings=resolved)
                )
            store = ApiStore(used.database_url)
            await store.open()
            stack.push_async_callback(store.close)
            app.state.pgqueue = ApiContext(resolved, used, store, metrics)
            yield

    return Starlette(
        # The dashboard is served beside the API but kept out of the OpenAPI document.
        routes=[*api_routes(), api_services.admin_dashboard()],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
