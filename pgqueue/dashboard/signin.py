"""Signing in with an API token, and signing out.

The token is checked once, at sign-in, by the admin core's verification (the same as the
REST API's, failure limit included); the dashboard then holds a server-side session and
never stores the token. Revoking the token ends the sessions it opened. Sign-in, failed
sign-in and sign-out are written to the audit log.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pgqueue.admin.auth import Refused
from pgqueue.admin.context import client_address
from pgqueue.admin.roles import READERS, SUCCESS, Action, Principal
from pgqueue.dashboard.session import anonymous, signed_in, with_flash
from pgqueue.dashboard.web import (
    Dashboard,
    Endpoint,
    View,
    base_path,
    forbidden,
    read_form,
    safe_next,
)

ANONYMOUS = Principal("anonymous", "")


def sign_in_form(dashboard: Dashboard) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        cookie = dashboard.codec.read(request)
        live = await dashboard.live_session(request)
        if live is not None:
            return View(dashboard, request, live, {}, cookie=cookie).redirect(
                base_path(request) + "/"
            )
        # A signed-out cookie carries the sign-in form's CSRF token; an ended session's
        # cookie is replaced.
        fresh = cookie if cookie is not None and cookie.user is None else anonymous()
        view = View(dashboard, request, fresh, {}, cookie=cookie)
        return view.finish(view.render("login.html", next=view.param("next"), error=None))

    return endpoint


async def _refuse(view: View, reason: str, next_page: str) -> Response:
    """A failed sign-in: logged and counted; 429 past the failure limit. Audited while
    under the limit, so a flood of guesses cannot grow the audit log without bound (the
    server log still has every one)."""
    admin = view.admin
    problem = admin.auth.failed(client_address(view.request), reason, what="dashboard sign-in")
    if problem.status == 401:
        await admin.audit.record(
            ANONYMOUS,
            Action.SIGN_IN_FAILED,
            "UNAUTHORIZED",
            detail={"via": "dashboard", "client": client_address(view.request)},
        )
    error = (
        "Too many failed sign-ins from this address; try again later."
        if problem.status == 429
        else "That token is not valid."
    )
    response = view.render("login.html", status=problem.status, next=next_page, error=error)
    response.headers.update(problem.headers)
    return view.finish(response)


def sign_in(dashboard: Dashboard) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        cookie = dashboard.codec.read(request)
        form = await read_form(request)
        view = View(dashboard, request, cookie or anonymous(), form or {}, cookie=cookie)
        if cookie is None or form is None or not cookie.csrf_matches(form.get("csrf")):
            view.flash("error", "The sign-in form had expired; please sign in again.")
            return view.finish(view.redirect(f"{base_path(request)}/login"))
        next_page = form.get("next", "")
        credential = form.get("token", "").strip()
        try:
            if not credential:
                raise Refused("no token given")
            principal = await view.admin.auth.verify(credential)
        except Refused as exc:
            return await _refuse(view, str(exc), next_page)
        if principal.role not in READERS:
            error = (
                f"The {principal.role} role cannot use the dashboard (it needs ADMIN or VIEWER)."
            )
            return view.finish(view.render("login.html", status=403, next=next_page, error=error))
        sessions = dashboard.sessions(request)
        sid, lifetime = await sessions.start(principal)
        view.session = signed_in(principal.actor, principal.role, lifetime, sid)
        await view.admin.audit.record(
            principal, Action.SIGN_IN, SUCCESS, detail={"via": "dashboard"}
        )
        return view.finish(view.redirect(safe_next(request, next_page, view.url())))

    return endpoint


def sign_out(dashboard: Dashboard) -> Endpoint:
    """Signing out needs the CSRF token too, so no other site can sign a user out. It
    ends the server-side session, so a copy of the cookie is worth nothing after."""

    async def endpoint(request: Request) -> Response:
        cookie = dashboard.codec.read(request)
        form = await read_form(request)
        live = await dashboard.live_session(request)
        view = View(dashboard, request, live or anonymous(), form or {}, cookie=cookie)
        if live is None or live.sid is None:
            return view.redirect(f"{base_path(request)}/login")
        if form is None or not live.csrf_matches(form.get("csrf")):
            return view.finish(forbidden(view, "This form is stale or did not come from here."))
        await dashboard.sessions(request).end(live.sid)
        await view.admin.audit.record(
            view.principal, Action.SIGN_OUT, SUCCESS, detail={"via": "dashboard"}
        )
        view.session = with_flash(anonymous(), "ok", "Signed out.")
        return view.finish(view.redirect(f"{base_path(request)}/login"))

    return endpoint
