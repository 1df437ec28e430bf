"""The dashboard's session cookie, and the CSRF token that lives in it.

The cookie holds the server-side session's id (the database decides whether it still
lives: `pgqueue.admin.sessions`), who signed in, the session's CSRF token and at most one
flash message; it is signed with HMAC-SHA256, so it can be read but not forged. Every
form posts the CSRF token back; SameSite=Strict keeps other sites from sending the
cookie at all, the token covers browsers that do not honour SameSite.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "pgqueue_dashboard"
SIGN_IN_SECONDS = 3600
"""How long a sign-in form stays usable: its CSRF token lives in a session of no one."""


@dataclass(frozen=True)
class Session:
    """`user` is None before sign-in; the session then only carries the sign-in form's
    CSRF token."""

    csrf: str
    expires: int
    user: str | None = None
    role: str | None = None
    flash: tuple[str, str] | None = None
    """(kind, text), shown once on the next page: kind is "ok" or "error"."""
    sid: str | None = None
    """The server-side session's id; None before sign-in."""

    @property
    def signed_in(self) -> bool:
        """What the cookie claims; the server-side session must still agree."""
        return self.user is not None and self.sid is not None and self.expires > time.time()

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


def anonymous() -> Session:
    return Session(csrf=secrets.token_urlsafe(32), expires=int(time.time()) + SIGN_IN_SECONDS)


def signed_in(user: str, role: str, seconds: int, sid: str) -> Session:
    """A fresh CSRF token at sign-in, so a token seen before sign-in is worth nothing."""
    return Session(
        csrf=secrets.token_urlsafe(32),
        expires=int(time.time()) + seconds,
        user=user,
        role=role,
        sid=sid,
    )


def with_flash(session: Session, kind: str, text: str) -> Session:
    return replace(session, flash=(kind, text))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionCodec:
    def __init__(self, secret: bytes, secure: str = "auto") -> None:
        """`secure`: "auto" (when the request came over https), "always" or "never"."""
        self._secret = secret
        self._secure = secure

    def _is_secure(self, request: Request) -> bool:
        if self._secure == "auto":
            return request.url.scheme == "https"
        return self._secure == "always"

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def dumps(self, session: Session) -> str:
        body: dict[str, Any] = {
            "c": session.csrf,
            "e": session.expires,
            "u": session.user,
            "r": session.role,
            "f": session.flash,
            "s": session.sid,
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def loads(self, value: str | None) -> Session | None:
        """The session in a cookie, or None if it is missing, forged, mangled or expired."""
        if not value or value.count(".") != 1:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        try:
            body = json.loads(_unb64(payload))
            flash = body["f"]
            session = Session(
                csrf=str(body["c"]),
                expires=int(body["e"]),
                user=body["u"],
                role=body["r"],
                flash=(str(flash[0]), str(flash[1])) if flash else None,
                sid=None if body.get("s") is None else str(body["s"]),
            )
        except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
            return None
        return session if session.expires > time.time() else None

    def read(self, request: Request) -> Session | None:
        return self.loads(request.cookies.get(COOKIE))

    def write(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.dumps(session),
            max_age=max(0, session.expires - int(time.time())),
            path=cookie_path(request),
            httponly=True,
            samesite="strict",
            secure=self._is_secure(request),
        )

    def clear(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE,
            path=cookie_path(request),
            httponly=True,
            samesite="strict",
            secure=self._is_secure(request),
        )


def cookie_path(request: Request) -> str:
    """The cookie goes only to the dashboard's own paths."""
    return str(request.scope.get("root_path", "")) or "/"
