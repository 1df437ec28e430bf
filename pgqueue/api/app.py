"""The admin API's routes: the guide's routes under `/api/v1/jobs`, the OpenAPI
document, health, readiness and metrics. `pgqueue.asgi` assembles them into an app."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from pgqueue.api import health, openapi
from pgqueue.api.methods import one_route_per_path
from pgqueue.api.routes import audit, charts, features, jobs, queues, repeatable

PREFIX = "/api/v1/jobs"
OPENAPI_PATH = "/api/v1/openapi.json"


def api_routes() -> list[BaseRoute]:
    """The routes the OpenAPI document describes."""
    routes: list[BaseRoute] = [
        Mount(
            PREFIX,
            routes=one_route_per_path(
                [
                    *queues.ROUTES,
                    *jobs.ROUTES,
                    *repeatable.ROUTES,
                    *audit.ROUTES,
                    *features.ROUTES,
                    *charts.ROUTES,
                ]
            ),
        ),
        *health.ROUTES,
    ]
    routes.append(Route(OPENAPI_PATH, openapi.endpoint(routes), methods=["GET"]))
    return routes
