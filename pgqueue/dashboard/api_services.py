"""The dashboard inside the REST API's app: the API's manager, its bearer-token check
(tokens from `pgqueue token create`, or JWTs) and its audit log.

`pgqueue.api.app` imports this module as `from pgqueue.dashboard import api_services`
and calls `api_services.admin_dashboard()` inside `create_app`, so that importing either
package first works.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Mount

from pgqueue.api.auth import authenticate
from pgqueue.api.context import context
from pgqueue.api.errors import ApiError, problem_for
from pgqueue.dashboard import dashboard_mount
from pgqueue.dashboard.settings import DashboardSettings
from pgqueue.dashboard.web import Identity, Services


def api_services(request: Request) -> Services:
    found = context(request)

    async def verify_token(token: str) -> Identity | None:
        try:
            principal = await authenticate(
                found.store, found.settings.jwt_secret, f"Bearer {token}"
            )
        except ApiError:
            return None
        return principal.actor, principal.role

    return Services(found.manager, verify_token, found.store, lambda exc: problem_for(exc).code)


def admin_dashboard(settings: DashboardSettings | None = None) -> Mount:
    """The dashboard at `/admin`, for `create_app`'s routes."""
    return dashboard_mount(api_services, settings)
