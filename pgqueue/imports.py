"""Importing the user's modules that register processors (`--import`, `PGQUEUE_IMPORTS`)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable

from pgqueue.errors import ConfigurationError


def import_modules(modules: Iterable[str]) -> None:
    # Like `python -m`, modules are found relative to where the command is run.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigurationError(f"cannot import {module!r}: {exc}") from exc
