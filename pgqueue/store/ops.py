"""Store operations as data: the SQL to run, its parameters, and how to read the rows.

This is the pure core shared by the async and the sync executor (`aio.py`, `sync.py`):
an operation never performs I/O itself, so both shells run exactly the same queries.
"""

from __future__ import annotations

import json
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from pgqueue.errors import JobNotFoundError, JobStateError
from pgqueue.models import Job, JobState, job_from, shown_run_at
from pgqueue.options import JobSpec, loaded_options
from pgqueue.store.notify import CHANNEL, FINISHED_CHANNEL
from pgqueue.store.queries import query
from pgqueue.types import STAT_FIELDS

T = TypeVar("T")
Row = dict[str, Any]


@dataclass(frozen=True)
class Op(Generic[T]):
    """One statement: `read` turns the fetched rows (dicts, or tuples: see `tuples`) into
    the operation's result."""

    sql: str
    params: dict[str, Any]
    read: Callable[[list[Any]], T]
    prepare: bool | None = None
    atomic: bool = False
    """Run in a transaction, so that an exception from `read` rolls the statement back."""
    one_round_trip: bool = False
    """A prepared statement's first run on a connection is one round trip too."""
    tuples: bool = False
    """`read` gets tuples in the statement's column order, not dicts, and the server sends
    them in binary: for the claim, whose rows a busy worker reads by the thousand a
    second, a dict per row and parsing its numbers and times from text are time of their
    own (0.4 µs a claimed row, of 2.8, in binary)."""


@dataclass(frozen=True)
class CopyOp(Generic[T]):
    """A bulk load in one transaction: `prelude` reserves what the rows need, `chunks`
    turns its answer into the `copy` statement's input (binary, in pieces, so that the
    server stores one piece while the next is built), `after` runs last, and `read`
    builds the result from the prelude's answer."""

    prelude: Op[Row]
    copy: str
    chunks: Callable[[Row], Iterable[bytes]]
    after: Callable[[Row], Op[Any]]
    read: Callable[[Row], T]


def _id_and_key(job_id: str | int) -> dict[str, Any]:
    """Callers name a job by its id or by the job_id they gave it; either works."""
    text = str(job_id)
    numeric = int(text) if text.isdigit() and len(text) < 19 else None
    return {"id": numeric, "key": text}


def job_state(row: Row) -> JobState:
    """The state a user sees. Inspecting queries compute it in SQL (`user_state`, from
    pgqueue_job_state); the engine's own statements return the stored state and, for
    waiting rows, whether they are delayed or paused."""
    shown = row.get("user_state")
    if shown is not None:
        return JobState(shown)
    state = row["state"]
    if state == "waiting":
        if row.get("delayed"):
            return JobState.DELAYED
        return JobState.PAUSED if row.get("paused") else JobState.WAITING
    return JobState(state)


def row_to_job(row: Row, state: JobState | None = None) -> Job:
    opts = loaded_options(row["opts"])
    return Job(
        id=str(row["id"]),
        queue=row["queue"],
        name=row["name"],
        data=row["data"],
        opts=opts,
        state=state or job_state(row),
        priority=row["priority"],
        progress=row.get("progress"),
        attempts_made=row["attempts_made"],
        max_attempts=row["max_attempts"],
        failed_reason=row.get("failed_reason"),
        stacktrace=list(row.get("stacktrace") or []),
        return_value=row.get("return_value"),
        created_at=row.get("created_at"),
        processed_at=row.get("processed_at"),
        finished_at=row.get("finished_at"),
        run_at=shown_run_at(row.get("run_at"), row.get("created_at"), opts),
        key=row.get("key"),
        cancelled_by=row.get("cancelled_by"),
        parent_id=None if row.get("parent_id") is None else str(row["parent_id"]),
        pending_children=row.get("pending_children"),
    )


# --- producing -------------------------------------------------------------------------


def _inserted_job(queue: str, spec: JobSpec, row: Row) -> Job:
    """A job this statement inserted, from what the caller sent plus the row's id and times."""
    return Job(
        id=str(row["id"]),
        queue=queue,
        name=spec.name,
        data=spec.data,
        opts=spec.options.opts,
        state=JobState.DELAYED if row["delayed"] else JobState.WAITING,
        priority=spec.options.priority,
        max_attempts=spec.options.max_attempts,
        created_at=row["created_at"],
        run_at=shown_run_at(row["run_at"], row["created_at"], spec.options.opts),
        key=spec.options.key,
        inserted=True,
    )


def _in_spec_order(queue: str, specs: Sequence[JobSpec], rows: list[Row]) -> list[Job]:
    """One job per spec, in the caller's order: keyed specs by key, the rest by id."""
    by_key = {r["key"]: r for r in rows if r["key"] is not None}
    fresh = iter(sorted((r for r in rows if r["key"] is None), key=lambda r: r["id"]))
    jobs: list[Job] = []
    for spec in specs:
        key = spec.options.key
        row = by_key.get(key) if key is not None else next(fresh, None)
        if row is None:  # a concurrent producer committed the same key mid-statement
            raise KeyRace(key)
        if row["inserted"]:
            jobs.append(_inserted_job(queue, spec, row))
        else:
            jobs.append(replace(row_to_job(row), inserted=False))
    return jobs


def enqueue(queue: str, specs: Sequence[JobSpec]) -> Op[list[Job]]:
    return Op(
        query("enqueue_jobs"),
        {
            "channel": CHANNEL,
            "queue": queue,
            "names": [s.name for s in specs],
            "datas": [s.data_json for s in specs],
            "opts": [s.options.opts_json for s in specs],
            "priorities": [s.options.priority for s in specs],
            "delays": [s.options.delay_ms for s in specs],
            "run_ats": [s.options.run_at for s in specs],
            "max_attempts": [s.options.max_attempts for s in specs],
            "keys": [s.options.key for s in specs],
            "keep_completed": [s.options.keep_completed.count for s in specs],
            "keep_completed_age": [s.options.keep_completed.age for s in specs],
            "keep_failed": [s.options.keep_failed.count for s in specs],
            "keep_failed_age": [s.options.keep_failed.age for s in specs],
        },
        lambda rows: _in_spec_order(queue, specs, rows),
        prepare=True,
        one_round_trip=True,
        # A key race (see `KeyRace`) must undo what the statement inserted besides; a
        # lone job that meets one inserted nothing, so it needs no transaction.
        atomic=len(specs) > 1 and any(s.options.key is not None for s in specs),
    )


class KeyRace(Exception):
    """A key was committed by another producer after this statement's snapshot: the
    statement is rolled back and run again, and then sees that job."""


# --- executing -------------------------------------------------------------------------


_CLAIM_ORDER = operator.itemgetter(5, 6, 0)
"""Priority, run time, id: the claim's order, by position in `_claimed_job`'s columns."""

_LONG_NUMBER = re.compile(r"\d{19}")


def _loads(text: str) -> Any:
    """orjson decodes a job's JSON several times faster than `json`, but it turns an
    integer beyond 64 bits into a float, where jsonb keeps every digit: documents with
    such a number (or any run of 19 digits) go through `json`, which keeps them exact."""
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    return orjson.loads(text)


_CLAIMED: dict[str, Any] = dict(
    vars(Job(id="", queue="", name="", data=None, opts={}, state=JobState.ACTIVE, priority=0))
)
"""A claimed job's attributes; `_claimed_job` sets the rest from the row."""


def _claimed_job(row: Sequence[Any]) -> Job:
    """`row_to_job` for the claim's columns, by position (id, queue, name, data, opts,
    priority, run_at, attempts_made, max_attempts, key, progress, created_at,
    processed_at). JSON comes as text, which skips the byte-level decoding of jsonb
    columns. Options need no check for long numbers: every number in them was bounded
    when the job was added (`options._resolve`). The job is built from a copy of
    `_CLAIMED` (`job_from`), as `bulk_ops` builds its jobs: `Job(...)` took a third of
    this function's time."""
    opts = loaded_options(orjson.loads(row[4]))
    created_at = row[11]
    attributes = _CLAIMED.copy()
    attributes["id"] = str(row[0])
    attributes["queue"] = row[1]
    attributes["name"] = row[2]
    attributes["data"] = _loads(row[3])
    attributes["opts"] = opts
    attributes["priority"] = row[5]
    attributes["attempts_made"] = row[7]
    attributes["max_attempts"] = row[8]
    attributes["key"] = row[9]
    attributes["progress"] = row[10]
    attributes["created_at"] = created_at
    attributes["processed_at"] = row[12]
    attributes["run_at"] = shown_run_at(row[6], created_at, opts)
    return job_from(attributes)


def claim(queue: str, limit: int, worker_id: uuid.UUID) -> Op[list[tuple[Job, uuid.UUID]]]:
    lease = uuid.uuid4()

    def read(rows: list[tuple[Any, ...]]) -> list[tuple[Job, uuid.UUID]]:
        rows.sort(key=_CLAIM_ORDER)
        return [(_claimed_job(r), lease) for r in rows]

    return Op(
        query("claim_jobs"),
        {"queue": queue, "limit": limit, "lease": lease, "worker_id": worker_id},
        read,
        prepare=True,
        tuples=True,
    )


def release_lost_claims(worker_id: uuid.UUID, leases: Sequence[uuid.UUID]) -> Op[set[int]]:
    return Op(
        query("release_lost_claims"),
        {"worker_id": worker_id, "leases": list(leases)},
        lambda rows: {r["id"] for r in rows},
    )


@dataclass(frozen=True)
class Completed:
    ids: set[int]
    """The jobs recorded; the others' leases had moved on."""
    at: datetime | None
    """The statement's time, which is the jobs' `finished_at`; None when none was."""


def _completed(rows: list[tuple[list[int], datetime | None]]) -> Completed:
    ids, at = rows[0]
    return Completed(set(ids), at)


_KEYED = '"{}":{}'
"""One job's entry in the completion's results object: its id as the key."""


def complete(items: Sequence[tuple[int, uuid.UUID, str]]) -> Op[Completed]:
    """`items` are (job id, lease, result as JSON text). Joining texts costs the worker
    a fraction of what adapting three arrays element by element did; a batch's jobs
    share a few leases, the jobs of one claim one lease object, each spelled out once
    (telling them apart by identity: hashing a UUID is a Python call). The results go
    as one JSON object keyed by id, which the statement looks each job up in."""
    ids, leases, results = zip(*items, strict=True) if items else ((), (), ())
    spelled: list[str] = []
    last: uuid.UUID | None = None
    text = ""
    for lease in leases:
        if lease is not last:
            last, text = lease, str(lease)
        spelled.append(text)
    id_texts = list(map(str, ids))
    return Op(
        query("complete_jobs"),
        {
            "channel": FINISHED_CHANNEL,
            "ids": "{" + ",".join(id_texts) + "}",
            "leases": "{" + ",".join(spelled) + "}",
            "results": "{" + ",".join(map(_KEYED.format, id_texts, results)) + "}",
        },
        _completed,
        prepare=True,
        tuples=True,
    )


def fail(
    job_id: int, lease: uuid.UUID, reason: str, stack: str, retry_in_ms: int | None
) -> Op[Row | None]:
    return Op(
        query("fail_job"),
        {
            "channel": FINISHED_CHANNEL,
            "id": job_id,
            "lease": lease,
            "reason": reason,
            "stack": stack,
            "retry_in_ms": retry_in_ms,
        },
        lambda rows: rows[0] if rows else None,
    )


def update_progress(job_id: int, lease: uuid.UUID, progress_json: str) -> Op[bool]:
    return Op(
        query("update_progress"),
        {"id": job_id, "lease": lease, "progress": progress_json},
        bool,
    )


def add_log(job_id: int, lease: uuid.UUID, message: str) -> Op[bool]:
    return Op(query("add_job_log"), {"id": job_id, "lease": lease, "message": message}, bool)


def release(items: Sequence[tuple[int, uuid.UUID]]) -> Op[set[int]]:
    return Op(
        query("release_jobs"),
        {"ids": [i[0] for i in items], "leases": [i[1] for i in items]},
        lambda rows: {r["id"] for r in rows},
    )


# --- inspecting ------------------------------------------------------------------------


def queue_stats(queue: str | None) -> Op[dict[str, dict[str, int]]]:
    def read(rows: list[Row]) -> dict[str, dict[str, int]]:
        return {r["queue"]: {f: int(r[f]) for f in STAT_FIELDS} for r in rows}

    return Op(query("queue_stats"), {"queue": queue}, read)


def paused_queues() -> Op[set[str]]:
    return Op(query("paused_queues"), {}, lambda rows: {r["name"] for r in rows})


def get_job(queue: str, job_id: str | int) -> Op[Job | None]:
    return Op(
        query("get_job"),
        {"queue": queue, **_id_and_key(job_id)},
        lambda rows: row_to_job(rows[0]) if rows else None,
    )


def list_jobs(queue: str, state: JobState, offset: int, limit: int) -> Op[list[Job]]:
    return Op(
        query("list_jobs"),
        {"queue": queue, "state": str(state), "offset": offset, "limit": limit},
        lambda rows: [row_to_job(r) for r in rows],
    )


def job_logs(queue: str, job_id: str | int, offset: int, limit: int) -> Op[list[Row]]:
    return Op(
        query("job_logs"),
        {"queue": queue, **_id_and_key(job_id), "offset": offset, "limit": limit},
        lambda rows: rows,
    )


# --- administering ---------------------------------------------------------------------


def _transition(
    queue: str, job_id: str | int, done_flag: str, allowed: str
) -> Callable[[list[Row]], str]:
    def read(rows: list[Row]) -> str:
        if not rows:
            raise JobNotFoundError(f"job {job_id} not found in queue {queue!r}")
        row = rows[0]
        if not row[done_flag]:
            raise JobStateError(
                f"job {job_id} in queue {queue!r} is {row['previous_state']}; "
                f"only {allowed} jobs can be {done_flag}"
            )
        return str(row["id"])

    return read


def retry_job(queue: str, job_id: str | int) -> Op[str]:
    return Op(
        query("retry_job"),
        {"channel": CHANNEL, "queue": queue, **_id_and_key(job_id)},
        _transition(queue, job_id, "retried", "failed or cancelled"),
    )


def promote_job(queue: str, job_id: str | int) -> Op[str]:
    return Op(
        query("promote_job"),
        {"channel": CHANNEL, "queue": queue, **_id_and_key(job_id)},
        _transition(queue, job_id, "promoted", "delayed"),
    )


def remove_job(queue: str, job_id: str | int) -> Op[str]:
    return Op(
        query("remove_job"),
        {"queue": queue, **_id_and_key(job_id)},
        _transition(queue, job_id, "removed", "non-active"),
    )


def clean(queue: str, grace_ms: int, state: JobState, limit: int) -> Op[list[str]]:
    return Op(
        query("clean_jobs"),
        {"queue": queue, "grace_ms": grace_ms, "state": str(state), "limit": limit},
        lambda rows: [str(r["id"]) for r in rows],
    )


def set_paused(queue: str, paused: bool) -> Op[None]:
    return Op(
        query("set_paused"),
        {"channel": CHANNEL, "queue": queue, "paused": paused},
        lambda rows: None,
    )


# --- maintenance -----------------------------------------------------------------------


def register_worker(
    worker_id: uuid.UUID, hostname: str, pid: int, queues: Sequence[str]
) -> Op[None]:
    return Op(
        query("register_worker"),
        {"id": worker_id, "hostname": hostname, "pid": pid, "queues": list(queues)},
        lambda rows: None,
    )


def heartbeat(worker_id: uuid.UUID) -> Op[bool]:
    return Op(query("heartbeat"), {"id": worker_id}, bool)


def unregister_worker(worker_id: uuid.UUID) -> Op[None]:
    return Op(query("unregister_worker"), {"id": worker_id}, lambda rows: None)


def list_workers() -> Op[list[Row]]:
    return Op(query("list_workers"), {}, lambda rows: rows)


def try_maintenance_lock() -> Op[bool]:
    return Op(query("try_maintenance_lock"), {}, lambda rows: bool(rows[0]["locked"]))


def set_maintenance_timeout(timeout_ms: int) -> Op[None]:
    """For the rest of the maintenance transaction."""
    return Op(query("set_maintenance_timeout"), {"timeout_ms": timeout_ms}, lambda rows: None)


def rescue(lease_seconds: float, limit: int) -> Op[list[Row]]:
    return Op(
        query("rescue_jobs"),
        {
            "channel": CHANNEL,
            "finished_channel": FINISHED_CHANNEL,
            "lease_seconds": lease_seconds,
            "limit": limit,
        },
        lambda rows: rows,
    )


def vacuum_due(min_dead: int, live_share: float, quiet_seconds: int) -> Op[bool]:
    return Op(
        query("vacuum_due"),
        {"min_dead": min_dead, "live_share": live_share, "quiet_seconds": quiet_seconds},
        lambda rows: bool(rows and rows[0]["due"]),
    )


def vacuum_jobs() -> Op[None]:
    """Utility statements cannot be prepared."""
    return Op(query("vacuum_jobs"), {}, lambda rows: None, prepare=False)


def prune_waiters(max_wait_seconds: int, limit: int) -> Op[int]:
    return Op(query("prune_waiters"), {"max_wait_seconds": max_wait_seconds, "limit": limit}, len)


def prune_finished(limit: int) -> Op[int]:
    return Op(query("prune_finished"), {"limit": limit}, len)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
