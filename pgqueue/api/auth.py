"""Who is calling: an API token from `pgqueue token create`, or a JWT from the platform.

`Authorization: Bearer T`. A token starting with `pgq_` is looked up by its hash; anything
else is read as a JWT signed with HS256 and `PGQUEUE_JWT_SECRET`, which must carry
`role` and `exp` (no other algorithm is accepted, `none` least of all). A missing,
malformed, unknown, expired or revoked credential is a 401; a valid one whose role is
not allowed is a 403.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import jwt

from pgqueue.api.errors import ApiError
from pgqueue.api.store import ApiStore
from pgqueue.api.tokens import PREFIX, normalise_role, token_hash
from pgqueue.errors import InvalidJobError

ADMIN = "ADMIN"
SERVICE = "SERVICE"
MAX_CREDENTIAL_LENGTH = 8192
JWT_LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Principal:
    """`actor` is the token's name or the JWT's `sub`; the audit log records both fields."""

    actor: str
    role: str


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="pgqueue"'})


def bearer(header: str | None) -> str:
    if not header:
        raise unauthorized("an Authorization: Bearer token is required")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    if len(credential) > MAX_CREDENTIAL_LENGTH:
        raise unauthorized("the bearer token is too long")
    return credential


async def from_token(store: ApiStore, token: str) -> Principal:
    record = await store.find_token(token_hash(token))
    if record is None:
        raise unauthorized("unknown token")
    if record.revoked:
        raise unauthorized("this token has been revoked")
    if record.expired:
        raise unauthorized("this token has expired")
    return Principal(record.name, record.role)


def from_jwt(secret: str | None, token: str) -> Principal:
    if not secret:
        raise unauthorized("JWTs are not accepted: PGQUEUE_JWT_SECRET is not set")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "role"]},
            leeway=JWT_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("this token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise unauthorized(f"invalid token: {exc}") from None
    role, subject = claims.get("role"), claims.get("sub")
    if not isinstance(role, str):
        raise unauthorized("the token's role claim must be a string")
    try:
        role = normalise_role(role)
    except InvalidJobError:
        raise unauthorized("the token's role claim is not a role name") from None
    actor = subject if isinstance(subject, str) and subject else "jwt"
    return Principal(actor[:200], role)


async def authenticate(store: ApiStore, jwt_secret: str | None, header: str | None) -> Principal:
    credential = bearer(header)
    if credential.startswith(PREFIX):
        return await from_token(store, credential)
    return from_jwt(jwt_secret, credential)


def authorise(principal: Principal, roles: Collection[str]) -> None:
    if principal.role not in roles:
        allowed = " or ".join(sorted(roles))
        raise ApiError(403, f"role {principal.role} may not do this; it needs {allowed}")
