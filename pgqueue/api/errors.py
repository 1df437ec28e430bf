"""The API's error responses: every exception goes through the admin core's one mapping
(`problem_for`) and comes out as the `{"success": false, "error": …}` envelope."""

from __future__ import annotations

import logging

import psycopg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pgqueue.admin.errors import ApiError, Problem, problem_for
from pgqueue.errors import PgQueueError

logger = logging.getLogger("pgqueue.api")


def error_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": problem.code, "message": problem.message}},
        status_code=problem.status,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            **problem.headers,
        },
    )


async def handle(request: Request, exc: Exception) -> Response:
    problem = problem_for(exc)
    if problem.status >= 500:
        logger.error(
            "API request failed",
            exc_info=exc,
            extra={"action": "api_error", "path": request.url.path, "status": problem.status},
        )
    return error_response(problem)


EXCEPTION_HANDLERS = {
    ApiError: handle,
    HTTPException: handle,
    PgQueueError: handle,
    psycopg.Error: handle,
    Exception: handle,
}
"""Starlette's `exception_handlers=`: one handler, so one mapping, for every error."""
