"""What every dashboard request shares: the session guard, forms, rendering, links.

A page needs a signed-in session; an action (a POST) also needs the session's CSRF
token and the ADMIN role. Handlers receive a `View` and never touch cookies themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pgqueue.dashboard import format
from pgqueue.dashboard.session import Session, SessionCodec, with_flash
from pgqueue.dashboard.settings import DashboardSettings
from pgqueue.manager.aio import JobQueueManager
from pgqueue.store.auth_ops import AuditEntry

ADMIN = "ADMIN"
VIEWER = "VIEWER"
ROLES = (ADMIN, VIEWER)
MAX_FORM_BYTES = 64 * 1024

Identity = tuple[str, str]


class AuditLog(Protocol):
    """Where admin actions are recorded and read back."""

    async def write_audit(self, entry: AuditEntry) -> None: ...

    async def read_audit(self, offset: int, limit: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Services:
    """What the dashboard uses of the app it is mounted in."""

    manager: JobQueueManager
    verify_token: Callable[[str], Awaitable[Identity | None]]
    """(name, role) for a valid token; None when it is unknown, expired or revoked."""
    audit: AuditLog
    error_code: Callable[[BaseException], str]
    """How the audit log names a failed action's error, as the REST API names it."""


ServicesFor = Callable[[Request], Services]
"""The services of the app serving a request (they may live only as long as its lifespan)."""


@dataclass(frozen=True)
class Dashboard:
    services_for: ServicesFor
    settings: DashboardSettings
    codec: SessionCodec
    templates: jinja2.Environment


def template_environment() -> jinja2.Environment:
    """Autoescaping everywhere: job names and data are whatever producers sent."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pgqueue.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(format.FILTERS)
    return env


class View:
    """One request, seen from a handler: its session, its form, and how to answer."""

    def __init__(
        self,
        dashboard: Dashboard,
        request: Request,
        session: Session,
        form: Mapping[str, str],
        *,
        cookie: Session | None,
    ) -> None:
        """`cookie` is the session the browser sent: the answer sets a new cookie only
        when `session` differs from it."""
        self.dashboard = dashboard
        self.request = request
        self.session = session
        self.form = form
        self._cookie = cookie

    @property
    def services(self) -> Services:
        return self.dashboard.services_for(self.request)

    @property
    def manager(self) -> JobQueueManager:
        return self.services.manager

    @property
    def settings(self) -> DashboardSettings:
        return self.dashboard.settings

    @property
    def can_act(self) -> bool:
        return self.session.role == ADMIN

    @property
    def base(self) -> str:
        return base_path(self.request)

    def url(self, *parts: object, **params: object) -> str:
        """A dashboard link; path parts are quoted, empty query parameters dropped."""
        path = "".join("/" + quote(str(p), safe="") for p in parts)
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.base}{path or '/'}" + (f"?{query}" if query else "")

    @property
    def here(self) -> str:
        """This page's own address with its query string, for a "back to where I was"."""
        query = self.request.url.query
        return self.request.url.path + (f"?{query}" if query else "")

    def param(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)

    def flash(self, kind: str, text: str) -> None:
        self.session = with_flash(self.session, kind, text)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        flash, self.session = self.session.flash, _without_flash(self.session)
        html = self.dashboard.templates.get_template(template).render(
            view=self, flash=flash, refresh=self.settings.refresh_seconds, **context
        )
        return HTMLResponse(html, status_code=status)

    def redirect(self, target: str) -> RedirectResponse:
        return RedirectResponse(target, status_code=303)

    def back(self, fallback: str) -> RedirectResponse:
        """Back to the page the form was on (sent as `back`), if it is a dashboard page."""
        return self.redirect(safe_next(self.request, self.form.get("back"), fallback))

    def finish(self, response: Response) -> Response:
        if self.session != self._cookie:
            self.dashboard.codec.write(self.request, response, self.session)
        return response


def _without_flash(session: Session) -> Session:
    return session if session.flash is None else replace(session, flash=None)


def base_path(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def safe_next(request: Request, target: str | None, fallback: str) -> str:
    """Only a path inside the dashboard: never another site, so no open redirect."""
    base = base_path(request)
    if (
        target
        and (target == base or target.startswith(base + "/"))
        and "//" not in target
        and "\\" not in target
        and all(c.isprintable() for c in target)
    ):
        return target
    return fallback


async def read_form(request: Request) -> dict[str, str] | None:
    """An urlencoded form as {name: last value}; None when it is not one or too large."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        return None


Handler = Callable[[View], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(dashboard: Dashboard, handler: Handler) -> Endpoint:
    """A page for anyone signed in; everyone else is sent to sign in first."""

    async def endpoint(request: Request) -> Response:
        session = dashboard.codec.read(request)
        if session is None or not session.signed_in:
            target = urlencode({"next": request.url.path + _query(request)})
            return RedirectResponse(f"{base_path(request)}/login?{target}", status_code=303)
        view = View(dashboard, request, session, {}, cookie=session)
        return view.finish(await handler(view))

    return endpoint


def action(dashboard: Dashboard, handler: Handler) -> Endpoint:
    """A POST that changes something: signed in, the session's CSRF token, ADMIN."""

    async def endpoint(request: Request) -> Response:
        session = dashboard.codec.read(request)
        if session is None or not session.signed_in:
            return RedirectResponse(f"{base_path(request)}/login", status_code=303)
        form = await read_form(request)
        view = View(dashboard, request, session, form or {}, cookie=session)
        if form is None or not session.csrf_matches(form.get("csrf")):
            return view.finish(forbidden(view, "This form is stale or did not come from here."))
        if not view.can_act:
            return view.finish(forbidden(view, f"The {session.role} role can look, not act."))
        return view.finish(await handler(view))

    return endpoint


def forbidden(view: View, reason: str) -> Response:
    return view.render("error.html", status=403, title="Not allowed", message=reason)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""
