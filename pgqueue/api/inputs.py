"""Reading a request's path, query and body into Python values, or a 400 saying why not.

Only the shape is checked here (a number is a number, a body is a JSON object); what the
values mean is the manager's to judge, so the same rule holds for HTTP and Python callers.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from pgqueue.admin.errors import ApiError, bad_request
from pgqueue.errors import JobNotFoundError

MAX_RANGE = 1_000_000_000
MAX_JOB_ID = 2**63 - 1
MAX_JOB_ID_DIGITS = len(str(MAX_JOB_ID))
BODY_OVERHEAD_BYTES = 64 * 1024
_INTEGER = re.compile(r"-?\d{1,12}")


def query_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw) or not -MAX_RANGE <= int(raw) <= MAX_RANGE:
        raise bad_request(f"{name} must be a whole number within ±{MAX_RANGE}, got {raw!r}")
    return int(raw)


MAX_PAGE_ITEMS = 1000


def page(request: Request, default_end: int) -> tuple[int, int]:
    """Bull's inclusive `start`/`end` range from the query string, cut to at most
    `MAX_PAGE_ITEMS` (`end=-1` included): a longer list is read page by page. Cutting,
    not refusing, keeps every range the OpenAPI document allows an answerable one."""
    start, end = query_int(request, "start", 0), query_int(request, "end", default_end)
    if start >= 0 and (end == -1 or end - start + 1 > MAX_PAGE_ITEMS):
        end = start + MAX_PAGE_ITEMS - 1
    return start, end


def path_text(request: Request, name: str) -> str:
    return str(request.path_params[name])


def job_id(request: Request) -> str:
    """Job ids are the numbers the API hands out."""
    raw = path_text(request, "id")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_JOB_ID_DIGITS):
        raise bad_request(
            f"job id must be a number of at most {MAX_JOB_ID_DIGITS} digits, got {raw!r}"
        )
    if not 1 <= int(raw) <= MAX_JOB_ID:
        # Well-formed, but no job ever has it.
        raise JobNotFoundError(f"job {raw} not found in queue {path_text(request, 'queue')!r}")
    return str(int(raw))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_object(request: Request, max_bytes: int, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` when `required` is false."""
    limit = max_bytes + BODY_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the request body is over {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        if required:
            raise bad_request("a JSON object body is required")
        return {}
    try:
        parsed = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise bad_request(f"the body must be a JSON object, got {type(parsed).__name__}")
    return parsed


def only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise ApiError(422, f"unknown fields {sorted(unknown)}; expected some of {sorted(allowed)}")
