"""Every error the admin surfaces answer with, and the one table that maps errors to
statuses and codes.

Handlers raise; they never build an error response themselves. The audit log records
the same `code` the client receives, because both come from `problem_for`.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from starlette.exceptions import HTTPException

from pgqueue.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    InvalidJobError,
    JobNotFoundError,
    JobStateError,
    PgQueueError,
)

BAD_REQUEST = "BAD_REQUEST"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
CONFLICT = "CONFLICT"
INVALID = "INVALID_INPUT"
UNAVAILABLE = "UNAVAILABLE"
INTERNAL = "INTERNAL_ERROR"

_HTTP_CODES = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: "METHOD_NOT_ALLOWED",
    409: CONFLICT,
    429: "TOO_MANY_REQUESTS",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: INVALID,
    503: UNAVAILABLE,
}


class ApiError(Exception):
    """A request the API refuses before or instead of calling the manager."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


@dataclass(frozen=True)
class Problem:
    status: int
    code: str
    message: str
    headers: dict[str, str]


def problem_for(exc: BaseException) -> Problem:
    """The status, code and message a client sees for `exc`."""
    if isinstance(exc, ApiError):
        return Problem(
            exc.status, _HTTP_CODES.get(exc.status, BAD_REQUEST), exc.message, exc.headers
        )
    if isinstance(exc, HTTPException):
        return Problem(
            exc.status_code,
            _HTTP_CODES.get(exc.status_code, BAD_REQUEST),
            str(exc.detail),
            dict(exc.headers or {}),
        )
    if isinstance(exc, JobNotFoundError):
        return Problem(404, NOT_FOUND, str(exc), {})
    if isinstance(exc, JobStateError):
        return Problem(409, CONFLICT, str(exc), {})
    if isinstance(exc, InvalidJobError):
        return Problem(422, INVALID, str(exc), {})
    if isinstance(exc, DatabaseUnavailableError):
        return Problem(503, UNAVAILABLE, "the database is unavailable", {"Retry-After": "5"})
    if isinstance(exc, ConfigurationError):
        return Problem(503, UNAVAILABLE, str(exc), {})
    if isinstance(exc, PgQueueError):
        return Problem(409, CONFLICT, str(exc), {})
    if isinstance(exc, psycopg.DataError):
        # Input the database cannot hold (a NUL character, a number out of range) that
        # no earlier check caught: still the caller's input, never a server error.
        return Problem(422, INVALID, "the database cannot store this input", {})
    if isinstance(exc, psycopg.OperationalError):
        return Problem(503, UNAVAILABLE, "the database is unavailable", {})
    return Problem(500, INTERNAL, "internal error", {})
