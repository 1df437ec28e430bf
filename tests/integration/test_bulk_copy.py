"""Large keyless bulks go through binary COPY: the same jobs, rows and wake-up as one
INSERT statement gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from pgqueue import InvalidJobError, JobQueueManager, JobState, SyncJobQueueManager
from pgqueue.options import loaded_options
from pgqueue.store import bulk_ops


def ms_up(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up."""
    return -(-((moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)) // 1000)


async def test_copied_bulk_returns_the_rows_it_stored(
    manager: JobQueueManager, db_url: str
) -> None:
    specs = [
        {"name": "n", "data": {"i": i}, "opts": {"priority": 1 + i % 4}}
        if i % 3
        else {"name": "d", "data": [i, "é"], "opts": {"delay": 60_000, "attempts": 5}}
        for i in range(bulk_ops.COPY_MIN + 50)
    ]
    with psycopg.connect(db_url, autocommit=True, row_factory=dict_row) as listener:
        listener.execute("LISTEN pgqueue_jobs")
        jobs = await manager.add_bulk("email", specs)
        notices = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        rows = {
            str(r["id"]): r
            for r in listener.execute(
                "SELECT id, name, data, opts, priority, max_attempts, run_at, created_at, state "
                "FROM pgqueue_jobs ORDER BY id"
            ).fetchall()
        }
    assert len(jobs) == len(specs) == len(rows)
    assert [j.id for j in jobs] == sorted(rows, key=int)
    for spec, job in zip(specs, jobs, strict=True):
        row = rows[job.id]
        assert (row["name"], row["data"], row["state"]) == (spec["name"], spec["data"], "waiting")
        assert (job.name, job.data) == (spec["name"], spec["data"])
        assert (job.priority, job.max_attempts) == (row["priority"], row["max_attempts"])
        assert loaded_options(row["opts"]) == job.opts
        assert (job.run_at, job.created_at) == (row["run_at"], row["created_at"])
        delayed = spec["name"] == "d"
        assert job.state is (JobState.DELAYED if delayed else JobState.WAITING)
    # One wake-up for the bulk, naming the earliest job: ready now, so the transaction's
    # time, rounded up to the millisecond as for every wake-up.
    queue, _, at_ms = notices[0].partition(" ")
    assert queue == "email"
    created = jobs[1].created_at
    assert created is not None and int(at_ms) == ms_up(created)
    # Built without reading the rows back, yet the same jobs a read gives, each with a
    # list of its own.
    for job in (jobs[0], jobs[1], jobs[-1]):
        assert await manager.get_job("email", job.id) == job
    jobs[0].stacktrace.append("mine")
    assert jobs[1].stacktrace == []
    stats = await manager.get_queue_stats("email")
    assert (stats["waiting"], stats["delayed"]) == (len(specs) - 84, 84)


async def test_copied_bulk_rolls_back_whole(manager: JobQueueManager, db_url: str) -> None:
    specs = [{"name": "n", "data": {"i": i}} for i in range(bulk_ops.COPY_MIN)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE pgqueue_jobs ADD CONSTRAINT small CHECK (id < 150)")
        with pytest.raises(psycopg.errors.CheckViolation):
            await manager.add_bulk("email", specs)
        assert conn.execute("SELECT count(*) FROM pgqueue_jobs").fetchone() == (0,)


@pytest.mark.parametrize("step", [1, 2])
async def test_copied_bulk_gets_the_ids_it_drew(
    manager: JobQueueManager, db_url: str, step: int
) -> None:
    # Ids drawn one after another come back as a range; a sequence that counts by two
    # (as with two writers sharing a key space) leaves gaps, and the ids come back one
    # by one. Either way each job has its row's id, in the order given.
    specs = [{"name": "n", "data": {"i": i}} for i in range(bulk_ops.COPY_MIN)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('pgqueue_jobs', 'id'), 1000);"
            f"ALTER TABLE pgqueue_jobs ALTER COLUMN id SET INCREMENT BY {step}"
        )
        jobs = await manager.add_bulk("email", specs)
        rows = conn.execute("SELECT id, data FROM pgqueue_jobs ORDER BY id").fetchall()
    assert [int(j.id) for j in jobs] == [r[0] for r in rows]
    assert [j.data for j in jobs] == [r[1] for r in rows] == [s["data"] for s in specs]
    assert rows[-1][0] - rows[0][0] == step * (len(specs) - 1)


async def test_copied_bulk_of_delayed_jobs_wakes_workers_for_the_first(
    manager: JobQueueManager, db_url: str
) -> None:
    at = datetime.now(UTC) + timedelta(hours=1, microseconds=1)
    specs = [
        {"name": "n", "data": i, "opts": {"delay": 7_200_000}}
        if i % 2
        else {"name": "n", "data": i, "opts": {"run_at": at + timedelta(seconds=i)}}
        for i in range(bulk_ops.COPY_MIN)
    ]
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("LISTEN pgqueue_jobs")
        jobs = await manager.add_bulk("email", specs)
        notices = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert notices == [f"email {ms_up(at)}"]
    assert all(j.state is JobState.DELAYED for j in jobs)
    created = jobs[1].created_at
    assert created is not None
    assert [j.run_at for j in jobs[:2]] == [at, created + timedelta(hours=2)]


async def test_a_bad_job_deep_in_a_copied_bulk_stores_nothing(
    manager: JobQueueManager, db_url: str
) -> None:
    """Each piece of a COPY bulk is validated while the server stores the piece before:
    a bad job in a later piece still rejects the whole bulk, as in the one statement."""
    specs: list[dict[str, object]] = [{"name": "n", "data": {"i": i}} for i in range(1_200)]
    specs[1_100] = {"name": "n", "data": {"bad": float("nan")}}
    with pytest.raises(InvalidJobError, match="add_bulk item 1100: job data must be JSON"):
        await manager.add_bulk("email", specs)
    specs[1_100] = {"name": "n", "opts": {"attempts": 0}}
    with pytest.raises(InvalidJobError, match="add_bulk item 1100: attempts"):
        await manager.add_bulk("email", specs)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM pgqueue_jobs").fetchone() == (0,)
    # The pool's connection came back clean: the next bulk goes in.
    specs[1_100] = {"name": "n"}
    assert len(await manager.add_bulk("email", specs)) == 1_200
    assert (await manager.get_queue_stats("email"))["waiting"] == 1_200


def test_blocking_twin_copies_too(sync_manager: SyncJobQueueManager) -> None:
    specs = [{"name": "n", "data": {"i": i}} for i in range(bulk_ops.COPY_MIN * 3)]
    jobs = sync_manager.add_bulk("email", specs)
    assert [j.data for j in jobs] == [s["data"] for s in specs]
    assert [int(j.id) for j in jobs] == sorted(int(j.id) for j in jobs)
    assert sync_manager.get_job("email", jobs[-1].id) == jobs[-1]


async def test_every_job_of_a_copied_bulk_is_checked(manager: JobQueueManager) -> None:
    """Jobs like the ones before them are checked in line; each kind of fault is still
    found, wherever it is, and named by its item."""
    base: list[dict[str, object]] = [{"name": "n", "data": {"i": i}} for i in range(600)]
    faults: list[tuple[dict[str, object], str]] = [
        ({"name": "n", "data": {"s": "a\x00b"}}, "NUL character"),
        ({"name": "n", "data": {"s": "\ud800"}}, "lone surrogate"),
        ({"name": "n", "data": {"s": "x" * 2_000_000}}, "over the"),
        ({"name": "n", "data": {1, 2}}, "Object of type set is not JSON serializable"),
        ({"name": "n", "data": {"deep": [{"o": object()}]}}, "type object is not JSON"),
        ({"name": "n", "extra": 1}, "unknown keys"),
        ({"name": "", "data": {}}, "job name"),
        ({"name": "n", "opts": {"delay": -1}}, "delay"),
    ]
    for fault, message in faults:
        items = [*base[:550], fault, *base[551:]]
        with pytest.raises(InvalidJobError, match=f"add_bulk item 550\\b.*{message}"):
            await manager.add_bulk("email", items)
    # Unicode and escaped text that is fine goes in as given.
    items = [*base[:550], {"name": "n", "data": {"s": "é \\u0000 \n"}}, *base[551:]]
    jobs = await manager.add_bulk("email", items)
    assert (await manager.get_job("email", jobs[550].id)) == jobs[550]
    assert jobs[550].data == {"s": "é \\u0000 \n"}
    assert (await manager.get_queue_stats("email"))["waiting"] == 600
