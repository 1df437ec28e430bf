"""The admin REST API's routes and the server that runs an app; `pgqueue.asgi` builds
the app itself (API, dashboard, health, metrics)."""

from pgqueue.api.app import api_routes
from pgqueue.api.context import ApiContext
from pgqueue.api.errors import EXCEPTION_HANDLERS
from pgqueue.api.server import Transport, serve

__all__ = ["EXCEPTION_HANDLERS", "ApiContext", "Transport", "api_routes", "serve"]
