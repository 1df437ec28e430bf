"""One route per path, whatever the number of methods on it.

Starlette tries routes in order and answers 405 from the first whose path matches, with
an `Allow` header naming that route's methods only: `DELETE` on a path whose `GET` is
another route would be missing. Joining them into one `HTTPEndpoint` makes the 405
name every method the path has, as the OpenAPI document says; the document still reads
each method's docstring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

Handler = Callable[[Request], Awaitable[Response]]


def _method(handler: Handler) -> Callable[[Any, Request], Awaitable[Response]]:
    async def method(self: Any, request: Request) -> Response:
        return await handler(request)

    method.__doc__ = handler.__doc__
    method.__name__ = getattr(handler, "__name__", "method")
    return method


def one_route_per_path(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """`routes` with those that share a path joined, in the order paths first appear."""
    grouped: dict[str, list[Route]] = {}
    result: list[BaseRoute | str] = []
    for route in routes:
        if not isinstance(route, Route) or route.methods is None:
            result.append(route)
            continue
        if route.path not in grouped:
            grouped[route.path] = []
            result.append(route.path)
        grouped[route.path].append(route)
    joined: list[BaseRoute] = []
    for item in result:
        if not isinstance(item, str):
            joined.append(item)
            continue
        group = grouped[item]
        if len(group) == 1:
            joined.append(group[0])
            continue
        methods = {
            method.lower(): _method(route.endpoint)
            for route in group
            for method in route.methods or ()
            if method != "HEAD"
        }
        endpoint = type("PathEndpoint", (HTTPEndpoint,), methods)
        joined.append(Route(item, endpoint, name=group[0].name))
    return joined
