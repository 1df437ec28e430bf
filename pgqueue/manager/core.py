"""What the async and the sync manager share: argument checks and building operations.

Each public manager method is `validate here → one store operation → result`; the two
shells differ only in how they run the operation.
"""

from __future__ import annotations

import gc
import getpass
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from pgqueue.config import QUEUES, Settings
from pgqueue.errors import InvalidJobError, PgQueueError
from pgqueue.models import Job, JobState
from pgqueue.options import (
    JobSpec,
    OptionsCache,
    ResolvedOptions,
    build_spec,
    bulk_json_encoder,
    stored_options_json,
    validate_queue,
)
from pgqueue.store import bulk_ops
from pgqueue.store.feature_ops import FlowJob
from pgqueue.types import QueueStats

CLEANABLE_STATES = frozenset(
    {
        JobState.COMPLETED,
        JobState.FAILED,
        JobState.WAITING,
        JobState.DELAYED,
        JobState.PAUSED,
        JobState.CANCELLED,
    }
)
MAX_BULK = 100_000
BULK_ITEM_KEYS = frozenset({"name", "data", "opts"})
KEY_OPTIONS = frozenset({"job_id", "jobId"})
KEY_RACE_RETRIES = 3
MAX_GRACE_MS = 100 * 365 * 86_400_000
MAX_CLEAN_LIMIT = 1_000_000_000
MAX_PAGE = 10_000


def build_one(
    settings: Settings, queue: str, name: str, data: Any, options: Mapping[str, Any]
) -> JobSpec:
    return build_spec(queue, name, data, options, settings.max_payload_bytes)


class BulkBuilder:
    """Validates the items of one `add_bulk` call into `JobSpec`s, any range of them at
    a time: a COPY bulk validates each piece while the server stores the one before. An
    item that is wrong raises `InvalidJobError` naming it; then nothing is stored."""

    def __init__(self, settings: Settings, queue: str, items: Sequence[Any]) -> None:
        self.queue = validate_queue(queue)
        self.items = items
        self.max_bytes = settings.max_payload_bytes
        self.cache: OptionsCache = {}
        self.encode = bulk_json_encoder()
        self.names: set[str] = set()
        """Names already validated by `spec`."""
        self.plain: ResolvedOptions | None = None
        """The options of a job that gives none, once `spec` has resolved them."""

    def specs(self, start: int, end: int) -> list[JobSpec]:
        """Jobs `start` to `end`. The usual job, a plain dict with a name already seen
        and no options, is checked here in line, with no call per check; anything else,
        and anything that fails, goes through `spec`, which says what is wrong."""
        specs: list[JobSpec] = []
        append = specs.append
        items, names, encode, limit = self.items, self.names, self.encode, self.max_bytes
        plain = self.plain
        for index in range(start, min(end, len(items))):
            job = items[index]
            if (
                plain is not None
                and type(job) is dict
                and not job.get("opts")
                and BULK_ITEM_KEYS.issuperset(job)
                and type(name := job.get("name")) is str
                and name in names
            ):
                data = job.get("data")
                if data is None:
                    data = {}
                try:
                    text = encode(data)
                except (TypeError, ValueError):
                    # `spec` says what is wrong, with an encoder that holds nothing of
                    # this attempt (a failed encoding leaves its containers marked).
                    self.encode = encode = bulk_json_encoder()
                    text = ""
                if text.isascii() and 0 < len(text) <= limit and "\\u0000" not in text:
                    append(JobSpec(name, data, text, plain))
                    continue
            append(self.spec(index, job))
            plain, encode = self.plain, self.encode
        return specs

    def spec(self, index: int, job: Any) -> JobSpec:
        # `type(x) is dict` first: the ABC check costs more than the rest of a small job.
        if type(job) is not dict and not isinstance(job, Mapping):
            raise InvalidJobError(f"add_bulk item {index} must be a mapping, got {job!r}")
        if not BULK_ITEM_KEYS.issuperset(job):
            unknown = sorted(set(job) - BULK_ITEM_KEYS)
            raise InvalidJobError(f"add_bulk item {index} has unknown keys: {unknown}")
        opts = job.get("opts") or {}
        if type(opts) is not dict and not isinstance(opts, Mapping):
            raise InvalidJobError(f"add_bulk item {index}: opts must be a mapping")
        try:
            spec = build_spec(
                self.queue,
                job.get("name"),
                job.get("data"),
                opts,
                self.max_bytes,
                self.cache,
                self.encode,
            )
        except InvalidJobError as exc:
            raise InvalidJobError(f"add_bulk item {index}: {exc}") from exc
        if type(spec.name) is str:
            self.names.add(spec.name)
        if not opts and not spec.options.lifo:
            self.plain = spec.options
        return spec


def bulk_items(queue: str, jobs: Iterable[Any]) -> list[Any]:
    """The items of an `add_bulk` call, counted (and the queue name checked) before any
    is validated."""
    validate_queue(queue)
    items = list(jobs)
    if len(items) > MAX_BULK:
        raise InvalidJobError(f"add_bulk takes at most {MAX_BULK} jobs per call")
    return items


def copyable(items: Sequence[Any]) -> bool:
    """Whether a bulk goes by COPY, decided from the items as given: enough of them, none
    naming a `job_id` (which needs `ON CONFLICT`). An item that is not a plain dict, or
    whose opts are not, sends the bulk the statement's way, which validates everything
    before it writes."""
    if len(items) < bulk_ops.COPY_MIN:
        return False
    for item in items:
        if type(item) is not dict:
            return False
        opts = item.get("opts")
        if opts is not None and (type(opts) is not dict or not KEY_OPTIONS.isdisjoint(opts)):
            return False
    return True


def build_bulk(settings: Settings, queue: str, items: Sequence[Any]) -> list[JobSpec]:
    return BulkBuilder(settings, queue, items).specs(0, len(items))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a bulk is built and stored. A bulk
    makes several objects per job (its spec, the returned `Job` and its attributes) that
    all outlive the call, so the collector would run every few hundred of them, find
    nothing to free, and promote them, which brings on full collections of the whole
    heap: a quarter of a large bulk's client time. Left off if the caller turned it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def delayed_options(delay: object, options: Mapping[str, Any]) -> dict[str, Any]:
    return {**options, "delay": delay}


def scheduled_options(run_at: object, options: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(run_at, datetime):
        raise InvalidJobError(f"run_at must be a datetime, got {run_at!r}")
    return {**options, "run_at": run_at}


def page(start: object, end: object) -> tuple[int, int]:
    """Bull's inclusive range (`end=-1`: to the end) as OFFSET and LIMIT."""
    for value, what in ((start, "start"), (end, "end")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidJobError(f"{what} must be a whole number, got {value!r}")
    assert isinstance(start, int) and isinstance(end, int)
    if start < 0:
        raise InvalidJobError(f"start must be >= 0, got {start}")
    if end == -1:
        return start, MAX_PAGE
    if end < -1:
        raise InvalidJobError(f"end must be >= -1, got {end}")
    # An end before the start is an empty page, as Bull's ranges are.
    return start, max(0, min(end - start + 1, MAX_PAGE))


def job_state(state: object) -> JobState:
    try:
        return JobState(str(state))
    except ValueError:
        allowed = ", ".join(s.value for s in JobState)
        raise InvalidJobError(f"state must be one of {allowed}, got {state!r}") from None


def clean_args(grace: object, status: object, limit: object) -> tuple[int, JobState, int]:
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE_MS:
        raise InvalidJobError(
            f"grace must be a whole number of ms between 0 and {MAX_GRACE_MS}, got {grace!r}"
        )
    state = job_state(status)
    if state not in CLEANABLE_STATES:
        allowed = ", ".join(sorted(s.value for s in CLEANABLE_STATES))
        raise InvalidJobError(f"clean takes a status of {allowed}, got {status!r}")
    if limit is None:
        limit = 1_000_000
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CLEAN_LIMIT:
        raise InvalidJobError(
            f"limit must be a whole number between 1 and {MAX_CLEAN_LIMIT}, got {limit!r}"
        )
    return grace, state, limit


def queue_stats(counts: Mapping[str, int] | None) -> QueueStats:
    """The store's counts as the typed dict callers get; no counts is all zeros."""
    c = counts or {}
    return {
        "waiting": c.get("waiting", 0),
        "active": c.get("active", 0),
        "completed": c.get("completed", 0),
        "failed": c.get("failed", 0),
        "delayed": c.get("delayed", 0),
        "paused": c.get("paused", 0),
        "cancelled": c.get("cancelled", 0),
        "waiting-children": c.get("waiting-children", 0),
    }


def all_stats(found: dict[str, dict[str, int]]) -> dict[str, QueueStats]:
    """The eight configured queues always appear, then any other queue with jobs."""
    stats = {name: queue_stats(found.get(name)) for name in QUEUES}
    stats.update(
        {name: queue_stats(counts) for name, counts in sorted(found.items()) if name not in stats}
    )
    return stats


def job_ref(job_id: object) -> str | int:
    if isinstance(job_id, bool) or not isinstance(job_id, str | int) or str(job_id) == "":
        raise InvalidJobError(f"job id must be a non-empty string or an int, got {job_id!r}")
    return job_id


def key_race_error(queue: str) -> PgQueueError:
    return PgQueueError(
        f"could not add to {queue!r}: other producers kept adding the same job_id concurrently"
    )


MAX_LIMIT = 2**31 - 1
MAX_WAIT_SECONDS = 7 * 86_400


def rate_limit_args(max_jobs: object, duration: object) -> tuple[int, int] | None:
    """`(max, duration ms)`, or None to remove the limit (the duration is checked even
    then, so a mistyped one is never silently ignored)."""
    checked = [(duration, "duration")] + ([] if max_jobs is None else [(max_jobs, "max")])
    for value, what in checked:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
            raise InvalidJobError(
                f"rate limit {what} must be a whole number between 1 and {MAX_LIMIT}, got {value!r}"
            )
    if max_jobs is None:
        return None
    assert isinstance(max_jobs, int) and isinstance(duration, int)
    return max_jobs, duration


def concurrency_arg(n: object) -> int | None:
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_LIMIT:
        raise InvalidJobError(
            f"global concurrency must be a whole number between 1 and {MAX_LIMIT} or None, "
            f"got {n!r}"
        )
    return n


def wait_timeout(timeout: object) -> float:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_WAIT_SECONDS
    ):
        raise InvalidJobError(
            f"timeout must be a number of seconds above 0 and at most {MAX_WAIT_SECONDS}, "
            f"got {timeout!r}"
        )
    return float(timeout)


def cancelled_by(by: object) -> str:
    """Who cancels: the caller's words, else the user and host of this process."""
    if by is None:
        try:
            user = getpass.getuser()
        except Exception:  # no login name in some containers
            user = "unknown"
        return f"{user}@{socket.gethostname()}"
    if not isinstance(by, str) or not by.strip() or len(by) > 255:
        raise InvalidJobError(f"by must be a non-empty string of at most 255, got {by!r}")
    return by


MAX_FLOW_JOBS = 10_000
FLOW_KEYS = frozenset({"queue", "name", "data", "opts", "children"})


def flow_nodes(settings: Settings, tree: object) -> list[FlowJob]:
    """BullMQ's FlowProducer tree, `{"queue", "name", "data", "opts", "children": [...]}`
    at any depth, validated and flattened parents first."""
    nodes: list[FlowJob] = []
    stack: list[tuple[object, int | None, str]] = [(tree, None, "flow")]
    while stack:
        item, parent, where = stack.pop()
        if not isinstance(item, Mapping):
            raise InvalidJobError(f"{where} must be a mapping, got {item!r}")
        unknown = set(item) - FLOW_KEYS
        if unknown:
            raise InvalidJobError(f"{where} has unknown keys: {sorted(unknown)}")
        children = item.get("children")
        children = [] if children is None else children
        if not isinstance(children, list):
            raise InvalidJobError(f"{where}: children must be a list")
        raw_opts = item.get("opts")
        if raw_opts is not None and not isinstance(raw_opts, Mapping):
            raise InvalidJobError(f"{where}: opts must be a mapping")
        opts = dict(raw_opts or {})
        fail_parent = opts.pop("fail_parent_on_failure", opts.pop("failParentOnFailure", True))
        if not isinstance(fail_parent, bool):
            raise InvalidJobError(f"{where}: fail_parent_on_failure must be true or false")
        if "job_id" in opts or "jobId" in opts:
            raise InvalidJobError(f"{where}: jobs of a flow take no job_id")
        queue = validate_queue(item.get("queue"))
        try:
            spec = build_spec(
                queue, item.get("name"), item.get("data"), opts, settings.max_payload_bytes
            )
        except InvalidJobError as exc:
            raise InvalidJobError(f"{where}: {exc}") from exc
        stored = dict(spec.options.opts)
        if not fail_parent:
            stored["fail_parent_on_failure"] = False
        index = len(nodes)
        nodes.append(FlowJob(queue, spec, stored_options_json(stored), parent, len(children)))
        if len(nodes) > MAX_FLOW_JOBS:
            raise InvalidJobError(f"a flow holds at most {MAX_FLOW_JOBS} jobs")
        for number, child in reversed(list(enumerate(children))):
            stack.append((child, index, f"{where}.children[{number}]"))
    return nodes


def flow_tree(nodes: list[FlowJob], jobs: list[Job]) -> dict[str, Any]:
    """The inserted jobs as BullMQ's JobNode tree: `{"job": Job, "children": [...]}`."""
    trees: list[dict[str, Any]] = [{"job": job, "children": []} for job in jobs]
    for node, tree in zip(nodes, trees, strict=True):
        if node.parent is not None:
            trees[node.parent]["children"].append(tree)
    return trees[0]


MAX_METRIC_MINUTES = 24 * 60


def metric_minutes(minutes: object) -> int:
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MAX_METRIC_MINUTES
    ):
        raise InvalidJobError(
            f"minutes must be a whole number between 1 and {MAX_METRIC_MINUTES}, got {minutes!r}"
        )
    return minutes
