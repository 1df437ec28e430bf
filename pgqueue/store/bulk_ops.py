"""Large keyless bulks by binary COPY, the fastest way into a table.

The COPY input is written here byte by byte rather than through psycopg's per-row
dumpers: everything a bulk's jobs share (queue, options, run time, retention) is encoded
once per distinct set of options, and a row costs its id, its name and its data. The
jobs handed back are built the same way, from one prototype per set of options: the
caller already holds each job's name and data, and re-reading what it just sent would
cost more than storing it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from pgqueue.models import Job, JobState
from pgqueue.options import JobSpec, ResolvedOptions
from pgqueue.store.notify import CHANNEL
from pgqueue.store.ops import CopyOp, Op, Row
from pgqueue.store.queries import query

COPY_MIN = 200
"""From this many jobs a keyless bulk goes through COPY: its round trips cost less than
the one statement's per-row work."""

CHUNK_ROWS = 500
"""Rows per piece of COPY input: the server stores one piece while the next is built."""

# PostgreSQL's binary COPY format: a signature, flags and header extension length (both
# zero), then per row a field count and each field as its length and bytes (-1: NULL),
# and a trailer of -1. jsonb is its version byte (1) and the JSON text; timestamptz is
# microseconds since 2000-01-01 UTC.
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_TRAILER = struct.pack(">h", -1)
_FIELDS = 12
_ROW_START = struct.Struct(">hiq").pack
"""Field count, then the id: its length (8) and value."""
_JSONB_START = struct.Struct(">ib").pack
_INT2 = struct.Struct(">ih").pack
_INT4 = struct.Struct(">ii").pack
_INT8 = struct.Struct(">iq").pack
_NULL = struct.pack(">i", -1)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

_FRESH_PER_JOB = tuple(
    (f.name, f.default_factory) for f in fields(Job) if f.default_factory is not MISSING
)
"""Job attributes whose default is a new object (a list): never shared between jobs."""


def _text(value: str) -> bytes:
    encoded = value.encode()
    return struct.pack(">i", len(encoded)) + encoded


def _jsonb(text: str) -> bytes:
    encoded = text.encode()
    return _JSONB_START(len(encoded) + 1, 1) + encoded


def _int4(value: int | None) -> bytes:
    return _NULL if value is None else _INT4(4, value)


def _timestamptz(moment: datetime) -> bytes:
    delta = moment - _PG_EPOCH
    return _INT8(8, (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


@dataclass
class _Shared:
    """What the jobs with one set of options have in common, once the transaction's
    time is known."""

    fields: bytes
    """The row's columns after the data: queue, opts, priority, run_at, max_attempts,
    keep_completed, keep_completed_age, keep_failed, keep_failed_age."""
    job: dict[str, Any]
    """A `Job`'s attributes, all but its id, name and data."""


def _shared(queue: str, queue_field: bytes, o: ResolvedOptions, now: datetime) -> _Shared:
    at = o.run_at if o.run_at is not None else now + timedelta(milliseconds=o.delay_ms)
    columns = b"".join(
        (
            queue_field,
            _jsonb(o.opts_json),
            _INT2(2, o.priority),
            _timestamptz(at),
            _INT4(4, o.max_attempts),
            _int4(o.keep_completed.count),
            _int4(o.keep_completed.age),
            _int4(o.keep_failed.count),
            _int4(o.keep_failed.age),
        )
    )
    prototype = Job(
        id="",
        queue=queue,
        name="",
        data=None,
        opts=o.opts,
        state=JobState.DELAYED if at > now else JobState.WAITING,
        priority=o.priority,
        max_attempts=o.max_attempts,
        created_at=now,
        run_at=at,
        key=None,
        inserted=True,
    )
    return _Shared(columns, dict(vars(prototype)))


def copyable(specs: Sequence[JobSpec]) -> bool:
    """Keys need `ON CONFLICT`, which COPY has not; small bulks are one statement."""
    return len(specs) >= COPY_MIN and all(s.options.key is None for s in specs)


def _first_run(specs: Sequence[JobSpec]) -> tuple[int | None, datetime | None]:
    """The shortest delay and the earliest explicit run time among the jobs: the database
    turns them into the wake-up's time, from the transaction's `now()`."""
    distinct = {id(s.options): s.options for s in specs}.values()
    delays = [o.delay_ms for o in distinct if o.run_at is None]
    run_ats = [o.run_at for o in distinct if o.run_at is not None]
    return min(delays, default=None), min(run_ats, default=None)


class _BulkCopy:
    """One bulk's COPY input and the jobs it hands back.

    The jobs of each piece are built right after the piece is handed to the connection,
    while the server stores it: the client's work and the server's overlap."""

    def __init__(self, queue: str, specs: Sequence[JobSpec]) -> None:
        self.queue = queue
        self.specs = specs
        self.queue_field = _text(queue)
        self.shared: dict[int, _Shared] = {}
        self.jobs: list[Job] = []

    def _shared(self, o: ResolvedOptions, now: datetime) -> _Shared:
        found = self.shared.get(id(o))
        if found is None:
            found = self.shared[id(o)] = _shared(self.queue, self.queue_field, o, now)
        return found

    def chunks(self, head: Row) -> Iterator[bytes]:
        ids: list[int] = head["ids"]
        now: datetime = head["now"]
        specs = self.specs
        names: dict[str, bytes] = {}
        out: list[bytes] = [_SIGNATURE]
        for start in range(0, len(specs), CHUNK_ROWS):
            end = start + CHUNK_ROWS
            piece = list(zip(ids[start:end], specs[start:end], strict=True))
            for job_id, spec in piece:
                name = names.get(spec.name)
                if name is None:
                    name = names[spec.name] = _text(spec.name)
                data = spec.data_json.encode()
                out += (
                    _ROW_START(_FIELDS, 8, job_id),
                    name,
                    _JSONB_START(len(data) + 1, 1),
                    data,
                    self._shared(spec.options, now).fields,
                )
            if start + CHUNK_ROWS >= len(specs):
                out.append(_TRAILER)
            yield b"".join(out)
            out = []
            self._build_jobs(piece, now)

    def _build_jobs(self, piece: list[tuple[int, JobSpec]], now: datetime) -> None:
        new = object.__new__
        append = self.jobs.append
        for job_id, spec in piece:
            job = new(Job)
            attributes = self._shared(spec.options, now).job.copy()
            attributes["id"] = str(job_id)
            attributes["name"] = spec.name
            attributes["data"] = spec.data
            for name, make in _FRESH_PER_JOB:
                attributes[name] = make()
            job.__dict__ = attributes
            append(job)

    def read(self, head: Row) -> list[Job]:
        if len(self.jobs) != len(self.specs):
            raise RuntimeError("the COPY input was not written in full")
        return self.jobs


def enqueue_copy(queue: str, specs: Sequence[JobSpec]) -> CopyOp[list[Job]]:
    """`ops.enqueue` for large keyless bulks. The prelude reserves the ids from the
    table's own sequence and queues the workers' wake-up (sent at commit); the jobs come
    back built from what the caller sent plus the reserved ids and the transaction's time."""
    bulk = _BulkCopy(queue, specs)
    first_delay_ms, first_run_at = _first_run(specs)
    prelude = Op(
        query("reserve_bulk_ids"),
        {
            "n": len(specs),
            "channel": CHANNEL,
            "queue": queue,
            "first_delay_ms": first_delay_ms,
            "first_run_at": first_run_at,
        },
        lambda rows: rows[0],
    )
    return CopyOp(prelude, query("copy_jobs"), bulk.chunks, bulk.read)
