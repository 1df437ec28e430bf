"""What every dashboard request shares: the session guard, forms, rendering, links.

A page needs a live server-side session (ADMIN or VIEWER); an action (a POST) also needs
the session's CSRF token and the ADMIN role. Handlers receive a `View` and never touch
cookies themselves. The manager, the sessions and the audit log come from the admin
core's context on the app serving the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pgqueue.admin.context import AdminContext, admin_context
from pgqueue.admin.roles import ADMIN, Principal
from pgqueue.admin.sessions import Sessions
from pgqueue.dashboard import format
from pgqueue.dashboard.session import COOKIE, Session, SessionCodec, anonymous, with_flash
from pgqueue.dashboard.settings import DashboardSettings
from pgqueue.manager.aio import JobQueueManager

MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class Dashboard:
    settings: DashboardSettings
    codec: SessionCodec
    templates: jinja2.Environment

    def sessions(self, request: Request) -> Sessions:
        return admin_context(request).sessions(
            self.settings.idle_seconds, self.settings.session_hours * 3600
        )

    async def live_session(self, request: Request) -> Session | None:
        """The cookie's session if the server still holds it alive, with the role the
        server recorded; None when there is none or it has ended."""
        session = self.codec.read(request)
        if session is None or not session.signed_in or session.sid is None:
            return None
        found = await self.sessions(request).check(session.sid)
        if found is None:
            return None
        return replace(session, user=found[0], role=found[1])


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
    def admin(self) -> AdminContext:
        return admin_context(self.request)

    @property
    def manager(self) -> JobQueueManager:
        return self.admin.manager

    @property
    def principal(self) -> Principal:
        return Principal(self.session.user or "", self.session.role or "")

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
        session = await dashboard.live_session(request)
        if session is None:
            target = urlencode({"next": request.url.path + _query(request)})
            return to_sign_in(dashboard, request, f"{base_path(request)}/login?{target}")
        view = View(dashboard, request, session, {}, cookie=session)
        return view.finish(await handler(view))

    return endpoint


def action(dashboard: Dashboard, handler: Handler) -> Endpoint:
    """A POST that changes something: signed in, the session's CSRF token, ADMIN."""

    async def endpoint(request: Request) -> Response:
        session = await dashboard.live_session(request)
        if session is None:
            return to_sign_in(dashboard, request, f"{base_path(request)}/login")
        form = await read_form(request)
        view = View(dashboard, request, session, form or {}, cookie=session)
        if form is None or not session.csrf_matches(form.get("csrf")):
            return view.finish(forbidden(view, "This form is stale or did not come from here."))
        if not view.can_act:
            return view.finish(forbidden(view, f"The {session.role} role can look, not act."))
        return view.finish(await handler(view))

    return endpoint


def to_sign_in(dashboard: Dashboard, request: Request, target: str) -> Response:
    """To the sign-in form; a cookie whose session has ended is replaced, not kept."""
    response = RedirectResponse(target, status_code=303)
    cookie = dashboard.codec.read(request)
    if request.cookies.get(COOKIE) and (cookie is None or cookie.user is not None):
        dashboard.codec.write(request, response, anonymous())
    return response


def forbidden(view: View, reason: str) -> Response:
    return view.render("error.html", status=403, title="Not allowed", message=reason)


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""
