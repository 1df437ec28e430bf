"""Named SQL, loaded once from `sql/*.sql`.

Each query sits in a file under a `-- name: <name>` line, with its reason in the comment
that follows; the code refers to queries by name only.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def all_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    for entry in sorted(resources.files("pgqueue.store").joinpath("sql").iterdir(), key=str):
        if not entry.name.endswith(".sql"):
            continue
        parts = _NAME.split(entry.read_text(encoding="utf-8"))
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in queries:
                raise RuntimeError(f"query {name!r} is defined twice")
            queries[name] = body.strip().rstrip(";")
    return queries


def query(name: str) -> str:
    return all_queries()[name]
