"""Who is calling: an API token from `pgqueue token create`, or a JWT from the platform.

`Authorization: Bearer T`. A token starting with `pgq_` is looked up by its hash; anything
else is read as a JWT signed with HS256 and `PGQUEUE_JWT_SECRET`, which must carry `role`
and `exp`, may live at most `PGQUEUE_JWT_MAX_TTL`, and must name the configured audience
and issuer when those are set (no other algorithm is accepted, `none` least of all).

A missing, malformed, unknown, expired or revoked credential is a 401 with a generic
message; the reason goes to the server log with the client's address, never the
credential. Failures are counted per address: past the limit they answer 429 with
`Retry-After`. A valid credential is never limited.

A token lookup is cached for `TOKEN_CACHE_SECONDS`, so a busy client costs one query per
few seconds, and a revoked token stops working within that time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import jwt

from pgqueue.admin.errors import ApiError
from pgqueue.admin.limiter import FailureLimiter
from pgqueue.admin.roles import Principal
from pgqueue.admin.tokens import PREFIX, normalise_role, token_hash
from pgqueue.config import Settings
from pgqueue.errors import ConfigurationError, InvalidJobError
from pgqueue.manager.admin import AdminService, TokenRecord

logger = logging.getLogger("pgqueue.auth")

MAX_CREDENTIAL_LENGTH = 8192
JWT_LEEWAY_SECONDS = 30
"""Clock skew tolerated between the platform that issues JWTs and this server."""
MIN_SECRET_BYTES = 32
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 10_000
GENERIC_401 = "authentication failed: a valid bearer token is required"


def unauthorized(message: str = GENERIC_401) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="pgqueue"'})


class Refused(Exception):
    """Why a credential was refused: for the server log, never for the client."""


def check_jwt_secret(settings: Settings) -> None:
    """A short HMAC secret can be guessed offline from one token: refuse to start."""
    secret = settings.jwt_secret
    if secret is not None and len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"PGQUEUE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes "
            f"(it is {len(secret.encode('utf-8'))}); generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


@dataclass(frozen=True)
class _Cached:
    until: float
    record: TokenRecord


class Authenticator:
    """One per app; holds the token cache and the failure limiter."""

    def __init__(self, service: AdminService, settings: Settings) -> None:
        check_jwt_secret(settings)
        self._service = service
        self._settings = settings
        self._cache: dict[str, _Cached] = {}
        self.limiter = FailureLimiter(settings.auth_failures_per_minute)

    async def authenticate(self, header: str | None, client: str) -> Principal:
        """The caller of a request with this Authorization header, from this address."""
        try:
            return await self.verify(_bearer(header))
        except Refused as exc:
            raise self.failed(client, str(exc)) from None

    def failed(self, client: str, reason: str, *, what: str = "bearer token") -> ApiError:
        """Log and count one failure; the error to answer with: 401 for the first
        `per_minute` failures of an address within a minute, 429 after that."""
        logger.warning(
            "authentication failed",
            extra={"action": "auth_failed", "client": client, "reason": reason, "kind": what},
        )
        wait = self.limiter.retry_after(client)
        self.limiter.record(client)
        if wait is not None:
            return ApiError(
                429,
                "too many failed authentications; try again later",
                headers={"Retry-After": str(wait)},
            )
        return unauthorized()

    async def verify(self, credential: str) -> Principal:
        """The principal a credential stands for; `Refused` says why not."""
        if credential.startswith(PREFIX):
            return await self._from_token(credential)
        return self._from_jwt(credential)

    async def _lookup(self, token: str) -> TokenRecord | None:
        digest = token_hash(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached.until > now:
            return cached.record
        record = await self._service.find_token(digest)
        if record is not None and not record.expired and not record.revoked:
            if len(self._cache) >= TOKEN_CACHE_SIZE:
                self._cache.clear()
            self._cache[digest] = _Cached(now + TOKEN_CACHE_SECONDS, record)
        else:
            self._cache.pop(digest, None)
        return record

    async def _from_token(self, token: str) -> Principal:
        record = await self._lookup(token)
        if record is None:
            raise Refused("unknown token")
        if record.revoked:
            raise Refused(f"token {record.name!r} is revoked")
        if record.expired:
            raise Refused(f"token {record.name!r} has expired")
        return Principal(record.name, record.role, record.queues, token=record.name)

    def _from_jwt(self, token: str) -> Principal:
        settings = self._settings
        if not settings.jwt_secret:
            raise Refused("a JWT was sent but PGQUEUE_JWT_SECRET is not set")
        required = ["exp", "role"]
        if settings.jwt_audience:
            required.append("aud")
        if settings.jwt_issuer:
            required.append("iss")
        try:
            claims = jwt.decode(
                token,
                settings.jwt_secret,
                algorithms=["HS256"],
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
                options={"require": required},
                leeway=JWT_LEEWAY_SECONDS,
            )
        except jwt.InvalidTokenError as exc:
            raise Refused(f"invalid JWT: {exc}") from None
        self._check_lifetime(claims)
        role, subject = claims.get("role"), claims.get("sub")
        if not isinstance(role, str):
            raise Refused("the JWT's role claim is not a string")
        try:
            role = normalise_role(role)
        except InvalidJobError:
            raise Refused(f"the JWT's role claim names no role: {role[:40]!r}") from None
        actor = subject if isinstance(subject, str) and subject else "jwt"
        expires = float(claims["exp"])
        return Principal(actor[:200], role, _queues_claim(claims.get("queues")), expires=expires)

    def _check_lifetime(self, claims: dict[str, object]) -> None:
        exp, iat = claims["exp"], claims.get("iat", time.time())
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise Refused("the JWT's exp and iat must be numbers")
        if exp - iat > self._settings.jwt_max_ttl + JWT_LEEWAY_SECONDS:
            raise Refused(
                f"the JWT lives {int(exp - iat)} s, over PGQUEUE_JWT_MAX_TTL "
                f"({self._settings.jwt_max_ttl} s)"
            )


def _queues_claim(raw: object) -> tuple[str, ...] | None:
    """An optional `queues` claim scopes a JWT as `--queue` scopes a token."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(q, str) for q in raw):
        raise Refused("the JWT's queues claim must be a list of queue names")
    return tuple(raw)


def _bearer(header: str | None) -> str:
    if not header:
        raise Refused("no Authorization header")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Refused("the Authorization header is not 'Bearer <token>'")
    if len(credential) > MAX_CREDENTIAL_LENGTH:
        raise Refused("the bearer token is too long")
    return credential
