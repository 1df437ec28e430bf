"""Job options: validated and normalised before anything is written.

Everything a producer passes is checked here, in pure code shared by the async and the
sync manager, so bad input raises `InvalidJobError` and never reaches the database.
"""

from __future__ import annotations

import functools
import json
import json.encoder
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pgqueue.config import queue_config
from pgqueue.errors import InvalidJobError
from pgqueue.models import LIFO_EPOCH, JobPriority

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF: dict[str, Any] = {"type": "exponential", "delay": 2000}
DEFAULT_REMOVE_ON_COMPLETE = 100
DEFAULT_REMOVE_ON_FAIL = 500

MAX_PRIORITY = 32767
MAX_DELAY_MS = 10 * 365 * 86_400_000
"""Ten years: the longest delay, backoff or timeout a job may ask for, so every time
computed from them stays a valid timestamp."""
MAX_NAME_LENGTH = 255
MAX_ATTEMPTS = 1_000_000
MAX_RETENTION = 2**31 - 1
"""Retention counts and ages are stored in 32-bit integer columns."""
QUEUE_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}"
_QUEUE_NAME = re.compile(QUEUE_NAME_PATTERN)

KNOWN_OPTIONS = frozenset(
    {
        "priority",
        "attempts",
        "backoff",
        "delay",
        "run_at",
        "job_id",
        "remove_on_complete",
        "remove_on_fail",
        "timeout",
        "lifo",
    }
)


"""Every job option, by its Python name. Its camelCase form (Bull's) is derived below."""

_SNAKE_PART = re.compile(r"_([a-z])")


def camel_case(name: str) -> str:
    """`remove_on_complete` -> `removeOnComplete`: how Bull and the REST API spell it."""
    return _SNAKE_PART.sub(lambda m: m.group(1).upper(), name)


CAMEL_OPTIONS: dict[str, str] = {
    camel_case(name): name for name in KNOWN_OPTIONS if camel_case(name) != name
}
"""Bull users write camelCase; both spellings are accepted wherever options are."""


def option_name(name: str) -> str:
    """The Python name of an option written either way (unknown names pass through)."""
    return CAMEL_OPTIONS.get(name, name)


@dataclass(frozen=True)
class Retention:
    """How many finished jobs to keep (None: all) and for how long in seconds (None: ever)."""

    count: int | None
    age: int | None


def validate_queue(queue: object) -> str:
    if not isinstance(queue, str) or not _QUEUE_NAME.fullmatch(queue):
        raise InvalidJobError(
            f"queue name must be 1-128 letters, digits or _.:- (starting with a letter or "
            f"digit), got {queue!r}"
        )
    return queue


_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
"""`\u0000` in JSON text, escaped by an odd number of backslashes: a real NUL, not a
string that happens to contain a backslash followed by `u0000`."""


def storable_text(text: str, what: str) -> str:
    """PostgreSQL stores no NUL character in text or jsonb, and UTF-8 has no lone
    surrogates: refused here, before anything is written, rather than by the server."""
    if "\x00" in text:
        raise InvalidJobError(f"{what} contains a NUL character, which Postgres cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJobError(f"{what} is not valid Unicode (a lone surrogate)") from None
    return text


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidJobError(f"job name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidJobError(f"job name is longer than {MAX_NAME_LENGTH} characters")
    return storable_text(name, "job name")


_JSON = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)
"""One encoder for every job: `json.dumps` with arguments builds a new one per call."""

JsonEncode = Callable[[Any], str]


def bulk_json_encoder() -> JsonEncode:
    """`_JSON.encode` for the jobs of one bulk call. `encode` makes a new C encoder (the
    one behind `json.dumps`) on every call, which costs more than encoding a small job's
    data; this makes it once. Its record of the containers being encoded, which refuses
    cycles, is its own: one bulk call in one thread uses it, and an error, which ends
    the call, ends it too."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return _JSON.encode
    encode = make(
        {}, _JSON.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return lambda value: "".join(encode(value, 0))


@functools.lru_cache(maxsize=4096)
def _known_name(name: str) -> str:
    """`validate_name` once per distinct name: a bulk repeats a handful of names."""
    return validate_name(name)


def encode_json(
    value: Any, what: str, max_bytes: int | None = None, encode: JsonEncode = _JSON.encode
) -> str:
    """JSON text Postgres' jsonb will accept, or an `InvalidJobError` saying why not."""
    try:
        text = encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidJobError(f"{what} must be JSON-serialisable: {exc}") from exc
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise InvalidJobError(f"{what} contains a NUL character, which Postgres cannot store")
    if text.isascii():  # one byte per character, and no lone surrogate
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidJobError(f"{what} is not valid Unicode (a lone surrogate)") from None
    if max_bytes is not None and size > max_bytes:
        raise InvalidJobError(f"{what} is {size} bytes encoded, over the {max_bytes} limit")
    return text


def _whole(value: object, what: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJobError(f"{what} must be a whole number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidJobError(f"{what} must be {bound}, got {value}")
    return value


def _backoff(value: object) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"type": "fixed", "delay": _whole(value, "backoff", 0, MAX_DELAY_MS)}
    if not isinstance(value, Mapping):
        raise InvalidJobError(f"backoff must be a number of ms or a mapping, got {value!r}")
    unknown = set(value) - {"type", "delay"}
    if unknown:
        raise InvalidJobError(f"backoff has unknown keys: {sorted(unknown)}")
    kind = value.get("type", "exponential")
    if kind not in ("exponential", "fixed"):
        raise InvalidJobError(f"backoff type must be 'exponential' or 'fixed', got {kind!r}")
    return {
        "type": kind,
        "delay": _whole(value.get("delay", 0), "backoff delay", 0, MAX_DELAY_MS),
    }


def _retention(value: object, what: str) -> tuple[Retention, Any]:
    most = MAX_RETENTION
    if isinstance(value, bool):
        return Retention(0 if value else None, None), value
    if isinstance(value, int):
        return Retention(_whole(value, what, 0, most), None), value
    if isinstance(value, Mapping):
        unknown = set(value) - {"age", "count"}
        if unknown or not value:
            raise InvalidJobError(f"{what} takes 'age' (s) and/or 'count', got {dict(value)!r}")
        count = value.get("count")
        age = value.get("age")
        return Retention(
            None if count is None else _whole(count, f"{what} count", 0, most),
            None if age is None else _whole(age, f"{what} age", 0, most),
        ), dict(value)
    raise InvalidJobError(f"{what} must be a bool, a count or {{'age', 'count'}}, got {value!r}")


def backoff_delay_ms(backoff: Mapping[str, Any], attempts_made: int) -> int:
    """Delay before the next attempt: exponential doubles from `delay`, fixed repeats it."""
    delay = int(backoff.get("delay", 0))
    if backoff.get("type") == "fixed":
        return delay
    # Capped: with many attempts the doubling would leave any timestamp range.
    return int(min(delay * 2 ** min(max(attempts_made - 1, 0), 64), MAX_DELAY_MS))


def _stored_defaults() -> dict[str, Any]:
    """What a job's stored options mean by a key they leave out: the options of a job
    added with none, in a queue of NORMAL priority, as this release resolves them.

    Part of the table's format: a job keeps its options for as long as it lives, so
    these values must never change, even when the defaults above do (a new format would
    need a migration writing the old values into every row that leaves them out). A
    fresh dict per call: the job that gets it may change its own copy."""
    return {
        "priority": 3,
        "attempts": 3,
        "backoff": {"type": "exponential", "delay": 2000},
        "delay": 0,
        "remove_on_complete": 100,
        "remove_on_fail": 500,
    }


_STORED_DEFAULTS = _stored_defaults()


def stored_options_json(opts: Mapping[str, Any]) -> str:
    """The JSON a job's row stores for its resolved options: only what differs from
    `_stored_defaults`. The usual job stores `{}`, not 130 bytes: each of its three
    row versions, and the WAL that carries them, is that much smaller, and the server
    has that much less JSON to check on every insert. The key order of `opts` is kept,
    so `loaded_options` gives it back."""
    kept = {
        name: value
        for name, value in opts.items()
        if not (
            name in _STORED_DEFAULTS
            and type(value) is type(_STORED_DEFAULTS[name])
            and value == _STORED_DEFAULTS[name]
        )
    }
    return json.dumps(kept, separators=(",", ":"))


def loaded_options(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A job's resolved options from what its row stores (`stored_options_json`), in
    the order `_resolve` gives them. A row written before options were stored this way
    holds every key and reads back as it is."""
    opts = _stored_defaults()
    if stored:
        opts.update(stored)
    return opts


@dataclass(frozen=True)
class ResolvedOptions:
    """Everything a job's options decide, apart from its name and data."""

    opts: dict[str, Any]
    opts_json: str
    priority: int
    delay_ms: int
    run_at: datetime | None
    max_attempts: int
    key: str | None
    keep_completed: Retention
    keep_failed: Retention
    lifo: bool = False


@dataclass(slots=True)
class JobSpec:
    """One job ready to insert: name checked, data JSON-encoded, options resolved."""

    name: str
    data: Any
    data_json: str
    options: ResolvedOptions


OptionsCache = dict[tuple[tuple[str, type, Any], ...], ResolvedOptions]


def _resolve(queue: str, options: Mapping[str, Any]) -> ResolvedOptions:
    opts = {option_name(k): v for k, v in options.items()}
    unknown = set(opts) - KNOWN_OPTIONS
    if unknown:
        raise InvalidJobError(f"unknown job options: {sorted(unknown)}")

    priority = opts.get("priority")
    if priority is None:
        priority = int(queue_config(queue).priority)
    priority = _whole(priority, "priority", 1, MAX_PRIORITY)
    attempts = _whole(opts.get("attempts", DEFAULT_ATTEMPTS), "attempts", 1, MAX_ATTEMPTS)
    backoff = _backoff(opts.get("backoff", DEFAULT_BACKOFF))
    delay = _whole(opts.get("delay", 0), "delay", 0, MAX_DELAY_MS)

    run_at = opts.get("run_at")
    if run_at is not None:
        if not isinstance(run_at, datetime):
            raise InvalidJobError(f"run_at must be a datetime, got {run_at!r}")
        # A naive datetime is local time, as everywhere in Python.
        try:
            run_at = run_at.astimezone()
        except (OverflowError, ValueError):
            raise InvalidJobError(f"run_at is out of range: {run_at!r}") from None

    key = opts.get("job_id")
    if key is not None:
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str) or not key or len(key) > MAX_NAME_LENGTH:
            raise InvalidJobError(f"job_id must be a non-empty string of <= 255, got {key!r}")
        storable_text(key, "job_id")

    keep_completed, rc = _retention(
        opts.get("remove_on_complete", DEFAULT_REMOVE_ON_COMPLETE), "remove_on_complete"
    )
    keep_failed, rf = _retention(
        opts.get("remove_on_fail", DEFAULT_REMOVE_ON_FAIL), "remove_on_fail"
    )

    lifo = opts.get("lifo", False)
    if not isinstance(lifo, bool):
        raise InvalidJobError(f"lifo must be true or false, got {lifo!r}")
    if lifo and (delay or run_at is not None):
        raise InvalidJobError(
            "lifo puts a ready job first; it cannot be combined with delay or run_at"
        )

    timeout = opts.get("timeout")
    if timeout is not None:
        timeout = _whole(timeout, "timeout", 1, MAX_DELAY_MS)

    stored = {
        "priority": priority,
        "attempts": attempts,
        "backoff": backoff,
        "delay": delay,
        "remove_on_complete": rc,
        "remove_on_fail": rf,
    }
    if timeout is not None:
        stored["timeout"] = timeout
    if key is not None:
        stored["job_id"] = key
    if run_at is not None:
        stored["run_at"] = run_at.isoformat()
    if lifo:
        stored["lifo"] = True
    return ResolvedOptions(
        opts=stored,
        opts_json=stored_options_json(stored),
        priority=priority,
        delay_ms=delay,
        run_at=run_at,
        max_attempts=attempts,
        key=key,
        keep_completed=keep_completed,
        keep_failed=keep_failed,
        lifo=lifo,
    )


_EPOCH = LIFO_EPOCH
_lifo_lock = threading.Lock()
_lifo_last = _EPOCH


def lifo_run_at() -> datetime:
    """A LIFO job's run time: now mirrored about the epoch, so a later job sorts before
    every earlier one of its priority, and before every FIFO job, in the claim's existing
    order (priority, run_at, id). Strictly decreasing within a process, so the jobs of one
    `add_bulk` come out last-in first-out too; across hosts the order follows their
    clocks."""
    global _lifo_last
    with _lifo_lock:
        now = max(datetime.now(UTC), _lifo_last + timedelta(microseconds=1))
        _lifo_last = now
    return _EPOCH - (now - _EPOCH)


def _resolve_cached(
    queue: str, options: Mapping[str, Any], cache: OptionsCache | None
) -> ResolvedOptions:
    """A bulk of jobs usually shares its options: resolve each distinct set once. Types
    are part of the key, so `True` never passes for an already accepted `1`."""
    if cache is None:
        return _resolve(queue, options)
    try:
        cache_key = tuple((k, type(v), v) for k, v in options.items()) if options else ()
        resolved = cache.get(cache_key)
    except TypeError:  # unhashable values, e.g. a backoff mapping: resolved every time
        return _resolve(queue, options)
    if resolved is None:
        resolved = cache[cache_key] = _resolve(queue, options)
    return resolved


def build_spec(
    queue: str,
    name: object,
    data: Any,
    options: Mapping[str, Any],
    max_payload_bytes: int,
    cache: OptionsCache | None = None,
    encode: JsonEncode = _JSON.encode,
) -> JobSpec:
    """Validate one job; raise `InvalidJobError` on the first thing wrong. `cache` and
    `encode` are shared by the jobs of one bulk call; the queue must be the same for all
    of them, so it is checked with the first."""
    if not cache:
        validate_queue(queue)
    if isinstance(name, str):
        _known_name(name)
    else:
        validate_name(name)
    assert isinstance(name, str)
    resolved = _resolve_cached(queue, options, cache)
    if resolved.lifo:
        resolved = replace(resolved, run_at=lifo_run_at())
    if data is None:
        data = {}
    return JobSpec(name, data, encode_json(data, "job data", max_payload_bytes, encode), resolved)


def validate_priority(priority: int | JobPriority | None) -> dict[str, Any]:
    """Helpers take a priority positionally, as in the guide; None keeps the queue's."""
    return {} if priority is None else {"priority": priority}
