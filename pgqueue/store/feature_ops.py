"""Store operations for cancel, waiting for a result, and per-queue limits.

Kept apart from `ops.py`, whose claim and completion statements are the hot path: a
queue with no limit never runs anything from here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pgqueue.models import Job, JobState, shown_run_at
from pgqueue.options import JobSpec, loaded_options
from pgqueue.store.notify import CHANNEL, CONTROL_CHANNEL, FINISHED_CHANNEL
from pgqueue.store.ops import (
    _CLAIM_ORDER,
    Op,
    Row,
    _claimed_job,
    _id_and_key,
    _transition,
    row_to_job,
)
from pgqueue.store.queries import query

_CONTROL = {"control_channel": CONTROL_CHANNEL}


def cancel_job(queue: str, job_id: str | int, by: str | None) -> Op[str]:
    return Op(
        query("cancel_job"),
        {
            "queue": queue,
            **_id_and_key(job_id),
            "by": by,
            "control_channel": CONTROL_CHANNEL,
            "finished_channel": FINISHED_CHANNEL,
        },
        _transition(queue, job_id, "cancelled", "waiting, delayed or active"),
    )


def job_outcome(queue: str, job_id: str | int) -> Op[Job | None]:
    return Op(
        query("job_outcome"),
        {"queue": queue, **_id_and_key(job_id)},
        lambda rows: row_to_job(rows[0]) if rows else None,
    )


def watch_job(job_id: int) -> Op[bool]:
    """Register a wait for `job_id`; True when it has ended or is gone already (then
    nothing was registered and the waiter reads the outcome at once)."""
    return Op(
        query("watch_job"), {"id": job_id}, lambda rows: not rows or not rows[0]["registered"]
    )


def unwatch_job(job_id: int) -> Op[None]:
    return Op(query("unwatch_job"), {"id": job_id}, lambda rows: None)


def set_rate_limit(queue: str, rate_max: int, duration_ms: int) -> Op[None]:
    return Op(
        query("set_rate_limit"),
        {"queue": queue, "rate_max": rate_max, "rate_duration_ms": duration_ms, **_CONTROL},
        lambda rows: None,
    )


def clear_rate_limit(queue: str) -> Op[None]:
    return Op(query("clear_rate_limit"), {"queue": queue, **_CONTROL}, lambda rows: None)


def set_global_concurrency(queue: str, concurrency: int) -> Op[None]:
    return Op(
        query("set_global_concurrency"),
        {"queue": queue, "concurrency": concurrency, **_CONTROL},
        lambda rows: None,
    )


def clear_global_concurrency(queue: str) -> Op[None]:
    return Op(query("clear_global_concurrency"), {"queue": queue, **_CONTROL}, lambda rows: None)


@dataclass(frozen=True)
class QueueLimits:
    """A queue's limits and what they hold back now."""

    queue: str
    rate_max: int | None
    rate_duration_ms: int | None
    concurrency: int | None
    recent_starts: int
    """Jobs started within the current rate window."""
    active: int
    held_back: int
    """Ready jobs kept waiting because a limit is reached right now."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "rateLimit": None
            if self.rate_max is None
            else {"max": self.rate_max, "duration": self.rate_duration_ms},
            "globalConcurrency": self.concurrency,
            "recentStarts": self.recent_starts,
            "active": self.active,
            "heldBack": self.held_back,
        }


def _limits(row: Row) -> QueueLimits:
    rate_full = row["rate_max"] is not None and row["recent_starts"] >= row["rate_max"]
    busy = row["concurrency"] is not None and row["active"] >= row["concurrency"]
    return QueueLimits(
        queue=row["queue"],
        rate_max=row["rate_max"],
        rate_duration_ms=row["rate_duration_ms"],
        concurrency=row["concurrency"],
        recent_starts=int(row["recent_starts"]),
        active=int(row["active"]),
        held_back=int(row["ready"]) if rate_full or busy else 0,
    )


def queue_limits(queue: str | None) -> Op[dict[str, QueueLimits]]:
    return Op(
        query("queue_limits"),
        {"queue": queue},
        lambda rows: {r["queue"]: _limits(r) for r in rows},
    )


def limited_queues(queues: list[str]) -> Op[set[str]]:
    return Op(query("limited_queues"), {"queues": queues}, lambda rows: {r["queue"] for r in rows})


def cancelled_among(ids: list[int]) -> Op[set[int]]:
    return Op(query("cancelled_among"), {"ids": ids}, lambda rows: {r["id"] for r in rows})


def lock_queue_limits(queue: str) -> Op[None]:
    return Op(query("lock_queue_limits"), {"queue": queue}, lambda rows: None)


@dataclass(frozen=True)
class LimitedClaim:
    jobs: list[tuple[Job, uuid.UUID]]
    rate_wait_ms: int | None
    """Set when the rate held jobs back: when a start leaves the window."""
    concurrency_full: bool


def claim_limited(
    queue: str, limit: int, worker_id: uuid.UUID, lease: uuid.UUID
) -> Op[LimitedClaim]:
    """Run after `lock_queue_limits(queue)`, in its transaction."""

    def read(rows: list[tuple[Any, ...]]) -> LimitedClaim:
        # The claim's columns, then rate_wait_ms and concurrency_full (one row, with the
        # claim's columns null, when nothing was claimed).
        claimed = sorted((r for r in rows if r[0] is not None), key=_CLAIM_ORDER)
        return LimitedClaim(
            jobs=[(_claimed_job(r), lease) for r in claimed],
            rate_wait_ms=rows[0][13] if rows else None,
            concurrency_full=bool(rows[0][14]) if rows else False,
        )

    return Op(
        query("claim_jobs_limited"),
        {"queue": queue, "limit": limit, "lease": lease, "worker_id": worker_id},
        read,
        tuples=True,
    )


# --- flows -----------------------------------------------------------------------------


def reserve_job_ids(n: int) -> Op[list[int]]:
    return Op(query("reserve_job_ids"), {"n": n}, lambda rows: [r["id"] for r in rows])


@dataclass(frozen=True)
class FlowJob:
    """One job of a flow as validated, in insertion order (each parent before its
    children): `parent` is the index of its parent, None for the root."""

    queue: str
    spec: JobSpec
    opts_json: str
    parent: int | None
    children: int


def insert_flow(ids: list[int], nodes: Sequence[FlowJob]) -> Op[list[Job]]:
    """`ids[i]` is node i's id; a node's `parent` is the index of its parent."""

    def read(rows: list[Row]) -> list[Job]:
        by_id = {r["id"]: r for r in rows}
        jobs = []
        for job_id, node in zip(ids, nodes, strict=True):
            row = by_id[job_id]
            options = node.spec.options
            state = (
                JobState.WAITING_CHILDREN
                if row["state"] == "waiting-children"
                else JobState.DELAYED
                if row["delayed"]
                else JobState.WAITING
            )
            jobs.append(
                Job(
                    id=str(job_id),
                    queue=node.queue,
                    name=node.spec.name,
                    data=node.spec.data,
                    opts=loaded_options(json.loads(node.opts_json)),
                    state=state,
                    priority=options.priority,
                    max_attempts=options.max_attempts,
                    created_at=row["created_at"],
                    run_at=shown_run_at(row["run_at"], row["created_at"], options.opts),
                    parent_id=None if node.parent is None else str(ids[node.parent]),
                    pending_children=node.children or None,
                )
            )
        return jobs

    specs = [n.spec for n in nodes]
    return Op(
        query("insert_flow"),
        {
            "channel": CHANNEL,
            "ids": ids,
            "queues": [n.queue for n in nodes],
            "names": [s.name for s in specs],
            "datas": [s.data_json for s in specs],
            "opts": [n.opts_json for n in nodes],
            "priorities": [s.options.priority for s in specs],
            "delays": [s.options.delay_ms for s in specs],
            "run_ats": [s.options.run_at for s in specs],
            "max_attempts": [s.options.max_attempts for s in specs],
            "keep_completed": [s.options.keep_completed.count for s in specs],
            "keep_completed_age": [s.options.keep_completed.age for s in specs],
            "keep_failed": [s.options.keep_failed.count for s in specs],
            "keep_failed_age": [s.options.keep_failed.age for s in specs],
            "parents": [None if n.parent is None else ids[n.parent] for n in nodes],
            "pending": [n.children for n in nodes],
        },
        read,
    )


def children_values(job_id: int) -> Op[dict[str, Any]]:
    return Op(
        query("children_values"),
        {"id": job_id},
        lambda rows: dict(rows[0]["children_values"] or {}) if rows else {},
    )


def job_children(queue: str, job_id: str | int) -> Op[list[Job]]:
    return Op(
        query("job_children"),
        {"queue": queue, **_id_and_key(job_id)},
        lambda rows: [row_to_job(r) for r in rows],
    )


def job_parent(queue: str, job_id: str | int) -> Op[Job | None]:
    return Op(
        query("job_parent"),
        {"queue": queue, **_id_and_key(job_id)},
        lambda rows: row_to_job(rows[0]) if rows else None,
    )
