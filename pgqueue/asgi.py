"""The composition root of the web side: one ASGI app with the REST API, the dashboard,
health, readiness and metrics, all sharing one manager (one pool) and one admin core.

    uvicorn pgqueue.asgi:app              # any ASGI server; settings from the environment

or inside an existing Starlette/FastAPI app:

    queues = pgqueue.asgi.create_app()
    app.mount("/queues", queues)

Nothing opens at import or construction: the manager's pool opens on the first request
that needs it, so a mounted app (whose lifespan Starlette does not run) works as is. The
app's lifespan closes the pool it opened; a host app that wants a clean shutdown enters
it from its own lifespan: `async with queues.router.lifespan_context(queues): yield`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from pgqueue.admin.context import STATE_KEY as ADMIN_STATE
from pgqueue.admin.context import AdminContext
from pgqueue.api import EXCEPTION_HANDLERS, ApiContext, api_routes
from pgqueue.api.context import STATE_KEY as API_STATE
from pgqueue.config import Settings
from pgqueue.dashboard import DashboardSettings, dashboard_mount
from pgqueue.manager.aio import JobQueueManager

__all__ = ["create_app"]


def create_app(
    manager: JobQueueManager | None = None,
    settings: Settings | None = None,
    *,
    dashboard: DashboardSettings | None = None,
) -> Starlette:
    """With a `manager`, the app uses it and leaves it open; without one, it makes one on
    `settings` (default: the environment) and its lifespan closes it. `dashboard`
    defaults to the environment too. Raises `ConfigurationError` on unsafe settings (a
    JWT secret under 32 bytes), so a server refuses to start rather than run weak."""
    resolved = settings or (manager.settings if manager else Settings.from_env())
    used = manager or JobQueueManager(resolved.database_url, settings=resolved)
    admin = AdminContext.build(used, resolved)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if manager is None:
                await used.close()

    app = Starlette(
        # The dashboard is served beside the API but kept out of the OpenAPI document.
        routes=[*api_routes(), dashboard_mount(dashboard)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    setattr(app.state, ADMIN_STATE, admin)
    setattr(app.state, API_STATE, ApiContext(admin))
    return app


_default: Starlette | None = None


def __getattr__(name: str) -> Starlette:
    """`pgqueue.asgi:app`, built from the environment when a server first asks for it."""
    global _default
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _default is None:
        _default = create_app()
    return _default
