"""`/api/v1/openapi.json`: the OpenAPI document, built from each route's docstring.

Each endpoint's docstring ends with `---` and the YAML of its operation; the shared
pieces (parameters, schemas, the bearer scheme) are defined once here and referenced.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from pgqueue.models import JobState
from pgqueue.types import STAT_FIELDS

_COUNTS = {
    "type": "object",
    "properties": {f: {"type": "integer"} for f in STAT_FIELDS},
    "required": list(STAT_FIELDS),
}

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
                "description": "Queue name, e.g. email.",
                "schema": {"type": "string"},
            },
            "JobId": {
                "name": "id",
                "in": "path",
                "required": True,
                "description": "The job's id, as the API returns it.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            },
            "Start": {
                "name": "start",
                "in": "query",
                "description": "First index of the page (0-based).",
                "schema": {"type": "integer", "minimum": 0, "default": 0},
            },
            "End": {
                "name": "end",
                "in": "query",
                "description": "Last index of the page, inclusive; -1 is the end.",
                "schema": {"type": "integer", "minimum": -1},
            },
        },
        "schemas": {
            "Counts": _COUNTS,
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
                "properties": {
                    "queue": {"type": "string"},
                    "name": {"type": "string"},
                    "data": {},
                    "opts": {
                        "type": "object",
                        "description": (
                            "The options of adding a job (no jobId), and "
                            "failParentOnFailure (default true)."
                        ),
                    },
                    "children": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/FlowNode"},
                    },
                },
            },
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
        },
    },
}


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    return SchemaGenerator(BASE).get_schema(routes)


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
