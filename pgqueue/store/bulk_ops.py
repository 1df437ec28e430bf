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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pgqueue.models import Job, JobState, job_from, shown_run_at
from pgqueue.options import JobSpec, ResolvedOptions
from pgqueue.store.notify import CHANNEL
from pgqueue.store.ops import CopyOp, Op, Row
from pgqueue.store.queries import query

COPY_MIN = 200
"""From this many jobs a keyless bulk goes through COPY: its round trips cost less than
the one statement's per-row work."""

CHUNK_ROWS = 500
"""Rows per piece of COPY input: the server stores one piece while the next is built."""
FIRST_CHUNK_ROWS = 100
"""The first piece is smaller: the server waits for it with nothing else to do."""

# PostgreSQL's binary COPY format: a signature, flags and header extension length (both
# zero), then per row a field count and each field as its length and bytes (-1: NULL),
# and a trailer of -1. jsonb (the data) is its version byte (1) and the JSON text, json
# (the options, migration 0015) the text alone; timestamptz is microseconds since
# 2000-01-01 UTC.
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


def _text(value: str) -> bytes:
    encoded = value.encode()
    return struct.pack(">i", len(encoded)) + encoded


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
            _text(o.opts_json),
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
        run_at=shown_run_at(at, now, o.opts),
        key=None,
        inserted=True,
    )
    return _Shared(columns, dict(vars(prototype)))


def _ms_up(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up, as every wake-up's time is."""
    micros = (moment - _UNIX_EPOCH) // timedelta(microseconds=1)
    return -(-micros // 1000)


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

BuildSpecs = Callable[[int, int], Sequence[JobSpec]]
"""Validates and returns the specs of jobs `start` to `end` (not included)."""


class _BulkCopy:
    """One bulk's COPY input and the jobs it hands back.

    Each piece of jobs is validated and encoded while the server stores the piece
    before, and the jobs of a piece are built right after it is handed to the connection:
    the client's work and the server's overlap. A job that fails validation raises in
    the middle of the COPY, which then rolls back whole."""

    def __init__(self, queue: str, count: int, build: BuildSpecs) -> None:
        self.queue = queue
        self.count = count
        self.build = build
        self.queue_field = _text(queue)
        self.shared: dict[int, _Shared] = {}
        self.jobs: list[Job] = []
        self.first_run: datetime | None = None

    def _shared(self, o: ResolvedOptions, now: datetime) -> _Shared:
        found = self.shared.get(id(o))
        if found is None:
            found = self.shared[id(o)] = _shared(self.queue, self.queue_field, o, now)
            at = found.job["run_at"]
            if self.first_run is None or at < self.first_run:
                self.first_run = at
        return found

    def chunks(self, head: Row) -> Iterator[bytes]:
        ids: Sequence[int] = head["ids"] or range(head["first"], head["first"] + self.count)
        now: datetime = head["now"]
        names: dict[str, bytes] = {}
        known = self.shared.get
        out: list[bytes] = [_SIGNATURE]
        starts = [0, *range(FIRST_CHUNK_ROWS, self.count, CHUNK_ROWS)]
        for start, end in zip(starts, [*starts[1:], self.count], strict=True):
            piece_ids = ids[start:end]
            specs = self.build(start, end)
            templates: list[dict[str, Any]] = []
            template = templates.append
            for job_id, spec in zip(piece_ids, specs, strict=True):
                shared = known(id(spec.options)) or self._shared(spec.options, now)
                name = names.get(spec.name)
                if name is None:
                    name = names[spec.name] = _text(spec.name)
                data = spec.data_json.encode()
                out += (
                    _ROW_START(_FIELDS, 8, job_id),
                    name,
                    _JSONB_START(len(data) + 1, 1),
                    data,
                    shared.fields,
                )
                template(shared.job)
            if end == self.count:
                out.append(_TRAILER)
            yield b"".join(out)
            out = []
            self._build_jobs(piece_ids, specs, templates)

    def _build_jobs(
        self, ids: Sequence[int], specs: Sequence[JobSpec], templates: list[dict[str, Any]]
    ) -> None:
        append = self.jobs.append
        for job_id, spec, template in zip(ids, specs, templates, strict=True):
            attributes = template.copy()
            attributes["id"] = str(job_id)
            attributes["name"] = spec.name
            attributes["data"] = spec.data
            append(job_from(attributes))

    def wake_up(self, head: Row) -> Op[Any]:
        """The workers' wake-up, sent when the transaction commits: the earliest job's
        run time, or now if it is due."""
        now: datetime = head["now"]
        first = now if self.first_run is None else max(self.first_run, now)
        return Op(
            query("notify_jobs_added"),
            {"channel": CHANNEL, "queue": self.queue, "at_ms": _ms_up(first)},
            len,
        )

    def read(self, head: Row) -> list[Job]:
        if len(self.jobs) != self.count:
            raise RuntimeError("the COPY input was not written in full")
        return self.jobs


def enqueue_copy(queue: str, count: int, build: BuildSpecs) -> CopyOp[list[Job]]:
    """`ops.enqueue` for `count` keyless jobs, validated piece by piece by `build`. The
    prelude reserves their ids from the table's own sequence; the jobs come back built
    from what the caller sent plus the reserved ids and the transaction's time."""
    bulk = _BulkCopy(queue, count, build)
    prelude = Op(query("reserve_bulk_ids"), {"n": count}, lambda rows: rows[0])
    return CopyOp(prelude, query("copy_jobs"), bulk.chunks, bulk.wake_up, bulk.read)
