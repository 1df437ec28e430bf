"""Processors pgqueue ships (email, report, cleanup), registered in every worker.

Each module here has `register(registry)`; a user's own processor for the same queue and
job name replaces the built-in one.
"""

from __future__ import annotations

import importlib

from pgqueue.registry import Registry

BUILTIN_MODULES: tuple[str, ...] = ("email", "report", "cleanup")


def register_builtins(registry: Registry) -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(f"pgqueue.processors.{module}").register(registry)
