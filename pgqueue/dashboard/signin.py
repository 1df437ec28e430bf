"""Signing in with an API token, and signing out.

The token is checked once, at sign-in, by the same verification as the REST API; the
dashboard then holds a session of its own and never stores the token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pgqueue.dashboard.session import anonymous, signed_in, with_flash
from pgqueue.dashboard.web import (
    ROLES,
    Dashboard,
    Endpoint,
    View,
    base_path,
    forbidden,
    read_form,
    safe_next,
)


def sign_in_form(dashboard: Dashboard) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        cookie = dashboard.codec.read(request)
        view = View(dashboard, request, cookie or anonymous(), {}, cookie=cookie)
        if view.session.signed_in:
            return view.redirect(view.url())
        return view.finish(view.render("login.html", next=view.param("next"), error=None))

    return endpoint


def sign_in(dashboard: Dashboard) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        cookie = dashboard.codec.read(request)
        form = await read_form(request)
        view = View(dashboard, request, cookie or anonymous(), form or {}, cookie=cookie)
        if cookie is None or form is None or not cookie.csrf_matches(form.get("csrf")):
            view.flash("error", "The sign-in form had expired; please sign in again.")
            return view.finish(view.redirect(f"{base_path(request)}/login"))
        next_page = form.get("next", "")
        identity = await view.services.verify_token(form.get("token", "").strip())
        if identity is None:
            return view.finish(
                view.render(
                    "login.html", status=401, next=next_page, error="That token is not valid."
                )
            )
        name, role = identity
        if role not in ROLES:
            error = f"The {role} role cannot use the dashboard (it needs ADMIN or VIEWER)."
            return view.finish(view.render("login.html", status=403, next=next_page, error=error))
        view.session = signed_in(name, role, dashboard.settings.session_hours)
        return view.finish(view.redirect(safe_next(request, next_page, view.url())))

    return endpoint


def sign_out(dashboard: Dashboard) -> Endpoint:
    """Signing out needs the CSRF token too, so no other site can sign a user out."""

    async def endpoint(request: Request) -> Response:
        cookie = dashboard.codec.read(request)
        form = await read_form(request)
        view = View(dashboard, request, cookie or anonymous(), form or {}, cookie=cookie)
        if cookie is None or not cookie.signed_in:
            return view.redirect(f"{base_path(request)}/login")
        if form is None or not cookie.csrf_matches(form.get("csrf")):
            return view.finish(forbidden(view, "This form is stale or did not come from here."))
        view.session = with_flash(anonymous(), "ok", "Signed out.")
        return view.finish(view.redirect(f"{base_path(request)}/login"))

    return endpoint
