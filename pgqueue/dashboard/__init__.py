"""The web dashboard at `/admin`: server-rendered pages over the manager's calls.

`dashboard_mount()` builds it; `pgqueue.asgi` mounts it beside the REST API, and both
reach the manager, sessions and audit log through the admin core's context. Pages need
a session, started by signing in with an API token (ADMIN acts, VIEWER only looks).
"""

from __future__ import annotations

from pathlib import Path

from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pgqueue.dashboard import actions, pages, signin
from pgqueue.dashboard.headers import SecurityHeaders
from pgqueue.dashboard.session import SessionCodec
from pgqueue.dashboard.settings import DashboardSettings
from pgqueue.dashboard.web import Dashboard, Handler, action, page, template_environment

__all__ = ["DashboardSettings", "dashboard_mount"]

STATIC = Path(__file__).parent / "static"


def dashboard_mount(settings: DashboardSettings | None = None, path: str = "/admin") -> Mount:
    """`settings` default to the environment."""
    settings = settings or DashboardSettings.from_env()
    dashboard = Dashboard(
        settings,
        SessionCodec(settings.session_secret, settings.cookie_secure),
        template_environment(),
    )

    def get(route: str, handler: Handler, name: str) -> Route:
        return Route(route, page(dashboard, handler), methods=["GET"], name=name)

    def post(route: str, handler: Handler, name: str) -> Route:
        return Route(route, action(dashboard, handler), methods=["POST"], name=name)

    routes = [
        Route("/login", signin.sign_in_form(dashboard), methods=["GET"], name="login"),
        Route("/login", signin.sign_in(dashboard), methods=["POST"], name="login_submit"),
        Route("/logout", signin.sign_out(dashboard), methods=["POST"], name="logout"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        get("/", pages.overview, "overview"),
        get("/queues/{queue}", pages.queue, "queue"),
        post("/queues/{queue}/pause", actions.pause, "pause"),
        post("/queues/{queue}/resume", actions.resume, "resume"),
        post("/queues/{queue}/clean", actions.clean, "clean"),
        post("/queues/{queue}/retry-failed", actions.retry_failed, "retry_failed"),
        post("/queues/{queue}/promote-delayed", actions.promote_delayed, "promote_delayed"),
        get("/queues/{queue}/jobs/{job_id}", pages.job, "job"),
        post("/queues/{queue}/jobs/{job_id}/retry", actions.retry_job, "retry_job"),
        post("/queues/{queue}/jobs/{job_id}/promote", actions.promote_job, "promote_job"),
        post("/queues/{queue}/jobs/{job_id}/remove", actions.remove_job, "remove_job"),
        post("/queues/{queue}/jobs/{job_id}/cancel", actions.cancel_job, "cancel_job"),
        post("/queues/{queue}/rate-limit", actions.set_rate_limit, "set_rate_limit"),
        post(
            "/queues/{queue}/global-concurrency",
            actions.set_global_concurrency,
            "set_global_concurrency",
        ),
        get("/schedules", pages.schedules, "schedules"),
        post("/schedules/remove", actions.remove_schedule, "remove_schedule"),
        get("/workers", pages.workers, "workers"),
        get("/tokens", pages.tokens, "tokens"),
        get("/audit", pages.audit, "audit"),
    ]
    return Mount(path, routes=routes, middleware=[Middleware(SecurityHeaders)], name="dashboard")
