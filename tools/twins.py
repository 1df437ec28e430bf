"""Generate the blocking twins from their asyncio sources (`make twins`).

The async module is the source of truth. Its tokens are rewritten: `async` and `await`
go, and the names in `RENAMES` become their blocking counterparts, in code and in
docstrings alike. The module docstring becomes a header naming the source. The result
is formatted with ruff. `--check` fails when a generated file differs from what its
source gives, so `make lint` catches a twin edited by hand or a source edited alone.

Where the two must genuinely differ, the difference lives in a small hand-written pair
of modules (`pgqueue/manager/aio_base.py` and `sync_base.py`), named in `RENAMES`.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TWINS = {
    "pgqueue/manager/aio.py": "pgqueue/manager/sync.py",
    "pgqueue/store/aio.py": "pgqueue/store/sync.py",
}

RENAMES = {
    "JobQueueManager": "SyncJobQueueManager",
    "AsyncManagerBase": "SyncManagerBase",
    "aio_base": "sync_base",
    "aio": "sync",
    "AsyncStore": "SyncStore",
    "AsyncConnection": "Connection",
    "AsyncConnectionPool": "ConnectionPool",
    "AsyncUnit": "SyncUnit",
    "async_pool": "sync_pool",
    "asynccontextmanager": "contextmanager",
    "AsyncIterator": "Iterator",
    "async_driver_connection": "sync_driver_connection",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
}

_WORD = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, RENAMES), key=len, reverse=True)) + r")\b"
)


def _rename_in_text(text: str) -> str:
    return _WORD.sub(lambda m: RENAMES[m.group(1)], text)


def _header(source: str) -> str:
    return (
        f'"""Generated from `{source}` by `make twins` (tools/twins.py).\n\n'
        'Edit that file, not this one: `make lint` fails when the two disagree."""\n'
    )


def unasync(text: str, source: str) -> str:
    """The blocking twin of the module `text`, formatted."""
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(pos: tuple[int, int]) -> int:
        return offsets[pos[0] - 1] + pos[1]

    edits: list[tuple[int, int, str]] = []
    docstring_done = False
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.STRING and not docstring_done:
            docstring_done = True
            edits.append((at(tok.start), at(tok.end), _header(source).rstrip("\n")))
            continue
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING):
            docstring_done = True
        if tok.type == tokenize.NAME and tok.string in ("async", "await"):
            nxt = tokens[i + 1]
            if tok.string == "await" or nxt.string in ("def", "with", "for"):
                edits.append((at(tok.start), at(nxt.start), ""))
                continue
        if tok.type == tokenize.NAME and tok.string in RENAMES:
            edits.append((at(tok.start), at(tok.end), RENAMES[tok.string]))
        elif tok.type == tokenize.STRING or tok.type == tokenize.COMMENT:
            edits.append((at(tok.start), at(tok.end), _rename_in_text(tok.string)))
    out = text
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    return _ruff(out, TWINS[source])


def _ruff(code: str, path: str) -> str:
    ruff = str(Path(sys.executable).parent / "ruff")
    fixed = subprocess.run(
        [ruff, "check", "--fix-only", "--select", "I,F401", "--stdin-filename", path, "-"],
        input=code,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return subprocess.run(
        [ruff, "format", "--stdin-filename", path, "-"],
        input=fixed,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for source, target in TWINS.items():
        wanted = unasync((ROOT / source).read_text(), source)
        path = ROOT / target
        if path.exists() and path.read_text() == wanted:
            continue
        if check:
            stale.append(target)
        else:
            path.write_text(wanted)
            print(f"wrote {target}")
    for target in stale:
        print(f"{target} is stale: run `make twins`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
