"""The Jinja2 templates of the built-in processors, overridable from a directory.

A file under `PGQUEUE_TEMPLATE_DIR` wins over the packaged one of the same name
(`email/welcome.html`, `report/report.html`, ...), so a team restyles its emails and
reports, or adds email types, without touching pgqueue. Only `.html` templates are
autoescaped: subjects and plain-text parts are not HTML. Undefined names raise, so a
context that lacks a field the template needs fails loudly instead of rendering blanks.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)


@cache
def template_environment(template_dir: Path | None) -> Environment:
    loaders: list[BaseLoader] = [FileSystemLoader(template_dir)] if template_dir else []
    loaders.append(PackageLoader("pgqueue", "templates"))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )
