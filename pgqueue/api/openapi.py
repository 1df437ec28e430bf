"""`/api/v1/openapi.json`: the OpenAPI document, built from each route's docstring.

Each endpoint's docstring ends with `---` and the YAML of its operation; the shared
pieces (parameters, schemas, the bearer scheme) are defined once here and referenced.
The document states every rule the server enforces, so that a client generated from it,
or a property-based tester running all its checks, never meets a surprise: limits come
from the same constants the validation uses, and the statuses every secured route can
answer (401, 403, 429) are added to each operation here rather than repeated.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from pgqueue.api.inputs import MAX_JOB_ID_DIGITS, MAX_RANGE
from pgqueue.manager.core import CLEANABLE_STATES, MAX_CLEAN_LIMIT, MAX_GRACE_MS
from pgqueue.models import JobState
from pgqueue.options import (
    CAMEL_OPTIONS,
    MAX_ATTEMPTS,
    MAX_DELAY_MS,
    MAX_NAME_LENGTH,
    MAX_PRIORITY,
    MAX_RETENTION,
    QUEUE_NAME_PATTERN,
)
from pgqueue.types import STAT_FIELDS

_COUNTS = {
    "type": "object",
    "properties": {f: {"type": "integer"} for f in STAT_FIELDS},
    "required": list(STAT_FIELDS),
}

_NO_NUL = "^[^\\u0000]*$"
_NAME_PATTERN = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
_JSON_VALUE: dict[str, Any] = {
    "description": "Any JSON value whose strings and keys hold no NUL (Postgres cannot).",
    "nullable": True,
    "anyOf": [
        {"type": "boolean"},
        {"type": "number"},
        {"type": "string", "pattern": _NO_NUL},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {
            "type": "object",
            "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
            "propertyNames": {"pattern": _NO_NUL},
        },
    ],
}
_RETENTION: dict[str, Any] = {
    "description": "true: remove at once; false: keep; a count to keep; or {age (s), count}.",
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "minimum": 0, "maximum": MAX_RETENTION},
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "age": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_RETENTION,
                    "nullable": True,
                },
                "count": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_RETENTION,
                    "nullable": True,
                },
            },
        },
    ],
}
_MS = {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS, "description": "ms"}
_KEY = {
    "description": "Your key for the job: adding it again returns the existing job.",
    "nullable": True,
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": _NO_NUL},
        {"type": "integer"},
    ],
}
_RUN_AT = {
    "type": "string",
    "format": "date-time",
    "nullable": True,
    "description": "RFC 3339 time with its offset, from year 1 to 9999 in UTC.",
}
_OPTIONS: dict[str, Any] = {
    "priority": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_PRIORITY,
        "nullable": True,
        "description": "Smaller runs first; null: the queue's default.",
    },
    "attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS},
    "backoff": {
        "anyOf": [
            _MS,
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "type": {"type": "string", "enum": ["exponential", "fixed"]},
                    "delay": _MS,
                },
            },
        ]
    },
    "delay": _MS,
    "jobId": _KEY,
    "runAt": _RUN_AT,
    "timeout": {**_MS, "minimum": 1, "nullable": True},
    "removeOnComplete": {"$ref": "#/components/schemas/Retention"},
    "removeOnFail": {"$ref": "#/components/schemas/Retention"},
    "lifo": {
        "type": "boolean",
        "description": "Run before the jobs waiting at its priority; not with delay or runAt.",
    },
}
_LIFO = {"lifo": {"type": "boolean", "enum": [True]}}
_NOT_WITH_LIFO = [
    {"required": ["lifo", "delay"], "properties": {**_LIFO, "delay": {"minimum": 1}}},
    *(
        {"required": ["lifo", name], "properties": {**_LIFO, name: {"type": "string"}}}
        for name in ("runAt", "run_at")
    ),
]
_SNAKE_ALIASES = dict(sorted(CAMEL_OPTIONS.items()))
_JOB_OPTIONS: dict[str, Any] = {
    "type": "object",
    "nullable": True,
    "description": "Bull's option names; pgqueue's snake_case spellings are accepted too.",
    "additionalProperties": False,
    "properties": {
        **_OPTIONS,
        **{snake: copy.deepcopy(_OPTIONS[camel]) for camel, snake in _SNAKE_ALIASES.items()},
    },
    # One spelling per option; lifo only for a job that is ready now.
    "not": {
        "anyOf": [
            *({"required": [c, s]} for c, s in _SNAKE_ALIASES.items()),
            *_NOT_WITH_LIFO,
        ]
    },
}

_QUEUE_SCHEMA = {
    "type": "string",
    "pattern": f"^{QUEUE_NAME_PATTERN}$",
    "minLength": 1,
    "maxLength": 128,
}
_NAME_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME_LENGTH,
    "pattern": _NAME_PATTERN,
    "description": "Not blank; no NUL character.",
}
_FAIL_PARENT = {
    "type": "boolean",
    "description": "Whether this job failing for good fails its parent (default true).",
}
_FLOW_OPTIONS: dict[str, Any] = {
    **copy.deepcopy(_JOB_OPTIONS),
    "description": "A job's options (no jobId: a flow's jobs take none), and failParentOnFailure.",
}
for _key in ("jobId", "job_id"):
    del _FLOW_OPTIONS["properties"][_key]
_FLOW_OPTIONS["properties"].update(
    {"failParentOnFailure": _FAIL_PARENT, "fail_parent_on_failure": _FAIL_PARENT}
)
_FLOW_OPTIONS["not"]["anyOf"] = [
    clause for clause in _FLOW_OPTIONS["not"]["anyOf"] if "jobId" not in clause["required"]
] + [{"required": ["failParentOnFailure", "fail_parent_on_failure"]}]

_ERROR = {
    "description": "The error envelope.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}

BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "pgqueue admin API",
        "version": "1",
        "description": (
            "Monitor and administer pgqueue's queues and jobs. Every route under "
            "/api/v1/jobs needs `Authorization: Bearer <token>`: ADMIN may do everything, "
            "VIEWER may read everything and change nothing, SERVICE may only add jobs "
            "(to the queues its token is scoped to, never to cleanup). 401 without a "
            "valid credential, 403 with the wrong role or scope, 429 with Retry-After "
            "after too many failed authentications from one address."
        ),
    },
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `pgqueue token create`, or an HS256 JWT.",
            }
        },
        "parameters": {
            "Queue": {
                "name": "queue",
                "in": "path",
                "required": True,
                "description": (
                    "Queue name, e.g. email: 1-128 letters, digits or _.:-, starting with "
                    "a letter or digit."
                ),
                "schema": {
                    "type": "string",
                    "pattern": f"^{QUEUE_NAME_PATTERN}$",
                    "minLength": 1,
                    "maxLength": 128,
                },
            },
            "JobId": {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "The job's id, as the API returns it (a positive number).",
                "schema": {"type": "string", "pattern": f"^[0-9]{{1,{MAX_JOB_ID_DIGITS}}}$"},
            },
            "Start": {
                "name": "start",
                "in": "query",
                "description": "First index of the page (0-based).",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_RANGE, "default": 0},
            },
            "End": {
                "name": "end",
                "in": "query",
                "description": (
                    "Last index of the page, inclusive; -1 is the end. A page holds at "
                    "most 1000 items: a longer range is cut to its first 1000. Below "
                    "`start`: an empty page, as in Bull."
                ),
                "schema": {"type": "integer", "minimum": -1, "maximum": MAX_RANGE},
            },
        },
        "schemas": {
            "Counts": _COUNTS,
            "MinuteMetrics": {
                "type": "object",
                "required": ["minute", "completed", "failed", "waitMedianMs", "runMedianMs"],
                "properties": {
                    "minute": {"type": "integer", "description": "Start of the minute, ms."},
                    "completed": {"type": "integer", "minimum": 0},
                    "failed": {"type": "integer", "minimum": 0},
                    "waitMedianMs": {"type": "number", "nullable": True},
                    "runMedianMs": {"type": "number", "nullable": True},
                },
            },
            "JsonValue": _JSON_VALUE,
            "Retention": _RETENTION,
            "JobOptions": _JOB_OPTIONS,
            "AddJob": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_NAME_LENGTH,
                        "pattern": _NAME_PATTERN,
                        "description": "Not blank; no NUL character.",
                    },
                    "data": {"$ref": "#/components/schemas/JsonValue"},
                    "opts": {"$ref": "#/components/schemas/JobOptions"},
                },
            },
            "Clean": {
                "type": "object",
                "required": ["grace"],
                "additionalProperties": False,
                "properties": {
                    "grace": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": MAX_GRACE_MS,
                        "description": "Age in ms.",
                    },
                    "status": {
                        "type": "string",
                        "enum": sorted(state.value for state in CLEANABLE_STATES),
                        "default": "completed",
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_CLEAN_LIMIT,
                        "nullable": True,
                        "description": "null: up to a million.",
                    },
                },
            },
            "Job": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "queue": {"type": "string"},
                    "name": {"type": "string"},
                    "data": {},
                    "opts": {"type": "object"},
                    "state": {
                        "type": "string",
                        "enum": [state.value for state in JobState],
                    },
                    "priority": {"type": "integer"},
                    "progress": {},
                    "attemptsMade": {"type": "integer"},
                    "maxAttempts": {"type": "integer"},
                    "failedReason": {"type": "string", "nullable": True},
                    "stacktrace": {"type": "array", "items": {"type": "string"}},
                    "returnValue": {},
                    "timestamp": {"type": "integer", "description": "Created, ms."},
                    "processedOn": {"type": "integer", "nullable": True},
                    "finishedOn": {"type": "integer", "nullable": True},
                    "runAt": {"type": "integer", "nullable": True},
                    "cancelledBy": {"type": "string", "nullable": True},
                    "parentId": {"type": "string", "nullable": True},
                },
            },
            "FlowNode": {
                "type": "object",
                "required": ["queue", "name"],
                "additionalProperties": False,
                "description": (
                    "A job and its children, nested at most 100 levels and 10000 jobs deep."
                ),
                "properties": {
                    "queue": _QUEUE_SCHEMA,
                    "name": _NAME_SCHEMA,
                    "data": {"$ref": "#/components/schemas/JsonValue"},
                    "opts": {"$ref": "#/components/schemas/FlowOptions"},
                    "children": {
                        "type": "array",
                        "nullable": True,
                        "items": {"$ref": "#/components/schemas/FlowNode"},
                    },
                },
            },
            "FlowOptions": _FLOW_OPTIONS,
            "Error": {
                "type": "object",
                "properties": {
                    "success": {"type": "boolean", "enum": [False]},
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        "required": ["code", "message"],
                    },
                },
                "required": ["success", "error"],
            },
        },
        "responses": {
            "Error": _ERROR,
            "TooManyRequests": {
                **_ERROR,
                "description": "Too many failed sign-ins from this client; try again later.",
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait.",
                        "schema": {"type": "integer"},
                    }
                },
            },
        },
    },
}


_ERROR_REF = {"$ref": "#/components/responses/Error"}
_SECURED = {
    "401": _ERROR_REF,
    "403": _ERROR_REF,
    "429": {"$ref": "#/components/responses/TooManyRequests"},
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _statuses(operation: dict[str, Any]) -> dict[str, Any]:
    """The statuses an operation answers because of what it takes: a queue name that does
    not fit (422), a job id that names no job (404), a body that is not JSON (400), too
    large (413) or has a value the server refuses (422)."""
    names = {p.get("$ref", "").rsplit("/", 1)[-1] for p in operation.get("parameters", [])}
    names |= {p.get("name", "") for p in operation.get("parameters", [])}
    extra: dict[str, Any] = {}
    if "Queue" in names or "key" in names:
        # A name that does not fit; a line break in the path routes nowhere (404).
        extra.update({"404": _ERROR_REF, "422": _ERROR_REF})
    if "JobId" in names:
        extra["404"] = _ERROR_REF
    if "Start" in names or "End" in names:
        extra["400"] = _ERROR_REF
    if "requestBody" in operation:
        extra.update({"400": _ERROR_REF, "413": _ERROR_REF, "422": _ERROR_REF})
    return extra


def _closed(schema: dict[str, Any]) -> None:
    """Every route refuses body fields it does not know (422), so an inline body object
    that does not say otherwise says `additionalProperties: false`."""
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    built = SchemaGenerator(copy.deepcopy(BASE)).get_schema(routes)
    for item in built.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _closed(media.get("schema", {}))
            responses = operation.setdefault("responses", {})
            added = dict(_statuses(operation))
            if operation.get("security") != []:
                added.update(_SECURED)
            for status, response in added.items():
                responses.setdefault(status, response)
    return built


def endpoint(routes: list[BaseRoute]) -> Any:
    """`routes` may still be filling when this is called; it is read on the first request."""
    built: dict[str, Any] = {}

    async def openapi(request: Request) -> Response:
        """The OpenAPI document of this API.
        ---
        summary: This document
        security: []
        responses:
          "200":
            description: OpenAPI 3 document.
        """
        if not built:
            built.update(document(routes))
        return JSONResponse(built)

    return openapi
