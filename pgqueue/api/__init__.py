"""The admin REST API: `create_app()` builds it, `serve()` runs it until told to stop."""

from pgqueue.api.app import create_app
from pgqueue.api.server import serve

__all__ = ["create_app", "serve"]
