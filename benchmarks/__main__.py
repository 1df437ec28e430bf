"""`python -m benchmarks [--quick] [--json] [--repeats N] [--concurrency N] [--backlog]`.

Prints one progress line per stage on stderr, then a table (or JSON) on stdout with the
median, min and max of every number over the repeats, next to DESIGN.md's targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks import backlog, compare, scale, sql, stages
from benchmarks.environment import fresh_database, server_url, worker_process
from pgqueue import JobQueueManager
from pgqueue.db.connect import async_pool
from pgqueue.registry import Registry
from pgqueue.store.aio import AsyncStore


@dataclass
class Metric:
    label: str
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    samples: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        median = statistics.median(self.samples) if self.samples else None
        met = None
        if median is not None and self.target is not None:
            met = median >= self.target if self.higher_is_better else median <= self.target
        return {
            "label": self.label,
            "unit": self.unit,
            "median": median,
            "min": min(self.samples, default=None),
            "max": max(self.samples, default=None),
            "samples": self.samples,
            "target": self.target,
            "target_is": "minimum" if self.higher_is_better else "maximum",
            "met": met,
        }


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="one small run (flags given still apply)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per drain")
    parser.add_argument("--batch", type=int, default=5_000, help="jobs per add_bulk call")
    parser.add_argument(
        "--enqueue-jobs",
        type=int,
        default=100_000,
        help="jobs per bulk enqueue measured side by side (add_bulk, PgQueuer)",
    )
    parser.add_argument("--concurrency", type=int, default=500, help="the worker's slots")
    parser.add_argument("--raw-batch", type=int, default=100, help="rows per raw-loop claim")
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--kept", type=int, default=1_000_000, help="completed rows kept (0: skip)")
    parser.add_argument(
        "--kept-jobs", type=int, default=100_000, help="jobs per drain with the rows kept"
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the worker into FILE")
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="only the backlog drains: --backlog-jobs from a cold table, --repeats times",
    )
    parser.add_argument("--backlog-jobs", type=int, default=200_000)
    parser.add_argument(
        "--engine",
        action="store_true",
        help="only the engine's own stages: latency, stats, maintenance, rows kept",
    )
    parser.add_argument("--json-out", metavar="FILE", help="also write the report as JSON here")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="only the scale run: --scale-drains drains of --scale-jobs through one worker",
    )
    parser.add_argument("--scale-drains", type=int, default=10)
    parser.add_argument("--scale-jobs", type=int, default=100_000)
    if "--quick" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(
            repeats=1,
            jobs=5_000,
            latency_jobs=50,
            kept=100_000,
            kept_jobs=5_000,
            enqueue_jobs=5_000,
            backlog_jobs=20_000,
        )
    return parser.parse_args(argv)


async def run_compare(args: argparse.Namespace) -> dict[str, Any]:
    m = {
        "raw": Metric("raw loop: drain", "jobs/s"),
        "raw_cpu": Metric("raw loop: client CPU per job", "µs"),
        "peer_drain": Metric("PgQueuer: drain, batch 100", "jobs/s"),
        "peer_cpu": Metric("PgQueuer: CPU per job", "µs"),
        "peer_enqueue": Metric("PgQueuer: bulk enqueue", "jobs/s"),
        "drain_100": Metric("pgqueue: drain, concurrency 100", "jobs/s"),
        "drain_100_cpu": Metric("pgqueue: worker CPU per job, c=100", "µs", 35, False),
        "drain_500": Metric("pgqueue: drain, concurrency 500", "jobs/s"),
        "drain_500_cpu": Metric("pgqueue: worker CPU per job, c=500", "µs", 35, False),
        "drain_p2": Metric("pgqueue: drain, --processes 2", "jobs/s"),
        "drain_p2_cpu": Metric("pgqueue: worker CPU per job, -p 2", "µs", 35, False),
        "drain_100_total_cpu": Metric("pgqueue: worker + database CPU per job, c=100", "µs"),
        "drain_p2_total_cpu": Metric("pgqueue: worker + database CPU per job, -p 2", "µs"),
        "add_bulk": Metric("pgqueue: add_bulk", "jobs/s", 100_000),
        "drain_100_vs_peer": Metric("drain c=100 / PgQueuer", "ratio", 1.5),
        "drain_100_of_raw": Metric("drain c=100 / raw loop", "ratio", 0.6),
        "drain_500_of_raw": Metric("drain c=500 / raw loop", "ratio", 0.7),
        "drain_100_cores": Metric("cores busy, c=100 (worker + db)", "cores"),
        "p2_vs_p1": Metric("-p 2 / one process, wall clock", "ratio"),
        "p2_cpu_vs_p1": Metric("CPU per job, -p 2 / one process", "ratio"),
        "p2_by_cpu": Metric("-p 2 / one process, by CPU/job", "ratio", 1.6),
        "add_bulk_vs_peer": Metric("add_bulk / PgQueuer enqueue", "ratio", 2.0),
    }
    info = describe_machine(args)
    info.update(concurrency="100 and 500", kept=0, enqueues=args.enqueue_jobs)
    with server_url() as server, fresh_database(server) as url:
        manager = JobQueueManager(url, registry=Registry())
        probe = await stages.open_probe(url)
        bench = stages.Bench(url, manager, probe, args.jobs, args.batch)
        version = await (await probe.execute(sql.SERVER_VERSION)).fetchone()
        info["postgres"] = version["server_version"] if version else "?"
        try:
            async with manager:
                for r in range(1, args.repeats + 1):
                    one = await compare.one_round(bench, r, args.raw_batch, args.enqueue_jobs)
                    record_round(m, one)
                    progress(
                        f"[{r}/{args.repeats}] raw {one.raw.rate:,.0f}, PgQueuer "
                        f"{one.peer_drain or 0:,.0f}, pgqueue c=100 {one.drain_100.rate:,.0f} "
                        f"c=500 {one.drain_500.rate:,.0f} -p 2 {one.drain_processes_2.rate:,.0f}"
                        f" jobs/s; add_bulk {one.add_bulk:,.0f}, PgQueuer enqueue "
                        f"{one.peer_enqueue or 0:,.0f} jobs/s"
                    )
        finally:
            await bench.close()
    info["load_average_after"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {"info": info, "results": {k: v.summary() for k, v in m.items()}}


def total_cpu_us(drain: stages.Drain) -> float | None:
    if drain.worker_cpu_us is None or drain.db_cpu_us is None:
        return None
    return drain.worker_cpu_us + drain.db_cpu_us


def record_round(m: dict[str, Metric], one: compare.Round) -> None:
    def add(name: str, value: float | None) -> None:
        if value is not None:
            m[name].samples.append(value)

    add("raw", one.raw.rate)
    add("raw_cpu", one.raw.worker_cpu_us)
    add("peer_drain", one.peer_drain)
    add("peer_cpu", one.peer_cpu_us)
    add("peer_enqueue", one.peer_enqueue)
    add("drain_100", one.drain_100.rate)
    add("drain_100_cpu", one.drain_100.worker_cpu_us)
    add("drain_500", one.drain_500.rate)
    add("drain_500_cpu", one.drain_500.worker_cpu_us)
    add("drain_p2", one.drain_processes_2.rate)
    add("drain_p2_cpu", one.drain_processes_2.worker_cpu_us)
    # Where the database shares the workers' cores, a second process cannot double the
    # rate: one process already keeps most of them busy. What a job costs with two
    # processes against one says how they scale where cores allow: two processes at the
    # same cost per job drain twice as much, at twice the cost no more.
    total_100 = total_cpu_us(one.drain_100)
    total_p2 = total_cpu_us(one.drain_processes_2)
    add("drain_100_total_cpu", total_100)
    add("drain_p2_total_cpu", total_p2)
    if total_100:
        add("drain_100_cores", one.drain_100.rate * total_100 / 1e6)
    if total_100 and total_p2:
        add("p2_cpu_vs_p1", total_p2 / total_100)
        add("p2_by_cpu", 2 * total_100 / total_p2)
    add("add_bulk", one.add_bulk)
    add("drain_100_of_raw", one.drain_100.rate / one.raw.rate)
    add("drain_500_of_raw", one.drain_500.rate / one.raw.rate)
    add("p2_vs_p1", one.drain_processes_2.rate / one.drain_100.rate)
    if one.peer_drain:
        add("drain_100_vs_peer", one.drain_100.rate / one.peer_drain)
    if one.peer_enqueue:
        add("add_bulk_vs_peer", one.add_bulk / one.peer_enqueue)


def comparison(report: dict[str, Any]) -> str:
    """The side-by-side table: medians over the repeats."""
    r = {k: v["median"] for k, v in report["results"].items()}

    def n(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    def x(mine: float | None, theirs: float | None, suffix: str = "x") -> str:
        return "-" if not mine or not theirs else f"{mine / theirs:.2f}{suffix}"

    rows = [
        ("drain, concurrency 100", r["raw"], r["peer_drain"], r["drain_100"]),
        ("drain, concurrency 500", r["raw"], r["peer_drain"], r["drain_500"]),
        ("drain, --processes 2 (100 each)", r["raw"], r["peer_drain"], r["drain_p2"]),
        ("bulk enqueue (add_bulk)", None, r["peer_enqueue"], r["add_bulk"]),
        ("CPU per no-op job (µs), c=100", r["raw_cpu"], r["peer_cpu"], r["drain_100_cpu"]),
    ]
    lines = [
        f"{'jobs/s (medians)':<34}{'raw loop':>10}{'PgQueuer':>10}{'pgqueue':>10}"
        f"{'vs PgQueuer':>13}{'of raw':>8}"
    ]
    for label, raw, theirs, mine in rows:
        cpu = label.startswith("CPU")
        lines.append(
            f"{label:<34}{n(raw):>10}{n(theirs):>10}{n(mine):>10}"
            f"{'' if cpu else x(mine, theirs):>13}{'' if cpu else x(mine, raw, ''):>8}"
        )
    if r["p2_by_cpu"] is not None and r["drain_100_cores"] is not None:
        lines.append(
            f"--processes 2: {r['p2_vs_p1']:.2f}x one process on this machine's "
            f"{os.cpu_count()} cores, of which one process keeps {r['drain_100_cores']:.2f} "
            f"busy; by CPU per job {r['p2_by_cpu']:.2f}x"
        )
    return "\n".join(lines)


async def run_scale(args: argparse.Namespace) -> dict[str, Any]:
    m = {
        "rate": Metric("drain", "jobs/s"),
        "table_mb": Metric("jobs table + indexes after a drain", "MB"),
        "indexes_mb": Metric("of which indexes", "MB"),
        "dead_tuples": Metric("dead tuples after a drain", "rows"),
        "worker_rss_mb": Metric("worker RSS after a drain", "MB"),
    }
    info = describe_machine(args)
    info.update(jobs=args.scale_jobs, repeats=args.scale_drains, kept=0)
    with server_url() as server, fresh_database(server) as url:
        manager = JobQueueManager(url, registry=Registry())
        probe = await stages.open_probe(url)
        bench = stages.Bench(url, manager, probe, args.scale_jobs, args.batch)
        version = await (await probe.execute(sql.SERVER_VERSION)).fetchone()
        info["postgres"] = version["server_version"] if version else "?"
        try:
            async with (
                manager,
                worker_process(url, stages.DRAIN_QUEUE, args.concurrency) as proc,
            ):
                bench.worker_pids = frozenset({proc.pid})
                for r in range(1, args.scale_drains + 1):
                    after = await scale.drain_and_measure(bench, proc.pid)
                    for name in m:
                        value = getattr(after, name)
                        if value is not None:
                            m[name].samples.append(value)
                    progress(
                        f"[{r}/{args.scale_drains}] {after.rate:,.0f} jobs/s; table "
                        f"{after.table_mb:.1f} MB (indexes {after.indexes_mb:.1f}), "
                        f"{after.dead_tuples:,} dead; worker RSS {after.worker_rss_mb or 0:.1f} MB"
                    )
        finally:
            await bench.close()
    return {"info": info, "results": {k: v.summary() for k, v in m.items()}}


async def run_backlog(args: argparse.Namespace) -> dict[str, Any]:
    metrics = {
        "backlog_rate": Metric("backlog drain", "jobs/s"),
        "backlog_median_window": Metric("backlog: median 10 s window", "jobs/s"),
        "backlog_slowest_window": Metric("backlog: slowest 10 s window", "jobs/s"),
        "backlog_slowest_ratio": Metric("backlog: slowest / median window", "ratio", 0.4),
    }
    info = describe_machine(args)
    info.update(jobs=args.backlog_jobs, concurrency=backlog.CONCURRENCY, kept=0)
    with server_url() as server, fresh_database(server) as url:
        manager = JobQueueManager(url, registry=Registry())
        probe = await stages.open_probe(url)
        bench = stages.Bench(url, manager, probe, args.backlog_jobs, args.batch)
        version = await (await probe.execute(sql.SERVER_VERSION)).fetchone()
        info["postgres"] = version["server_version"] if version else "?"
        try:
            async with manager:
                for r in range(1, args.repeats + 1):
                    drain = await backlog.drain_backlog(bench, args.backlog_jobs)
                    metrics["backlog_rate"].samples.append(drain.rate)
                    metrics["backlog_median_window"].samples.append(drain.median_window)
                    metrics["backlog_slowest_window"].samples.append(drain.slowest_window)
                    metrics["backlog_slowest_ratio"].samples.append(drain.slowest_ratio)
                    progress(
                        f"[{r}/{args.repeats}] backlog of {args.backlog_jobs:,}: "
                        f"{drain.rate:,.0f} jobs/s, 10 s windows median "
                        f"{drain.median_window:,.0f}, slowest {drain.slowest_window:,.0f} "
                        f"({drain.slowest_ratio:.0%})"
                    )
        finally:
            await bench.close()
    return {"info": info, "results": {k: m.summary() for k, m in metrics.items()}}


def describe_machine(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "python": platform.python_version(),
        "jobs": args.jobs,
        "batch": args.batch,
        "concurrency": args.concurrency,
        "repeats": args.repeats,
        "latency_jobs": args.latency_jobs,
        "kept": args.kept,
        "kept_jobs": args.kept_jobs,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    metrics = {
        "add_bulk": Metric("add_bulk", "jobs/s"),
        "drain": Metric("drain, one worker", "jobs/s"),
        "drain_worker_cpu": Metric("drain: worker CPU per job", "µs"),
        "drain_db_cpu": Metric("drain: Postgres CPU per job", "µs"),
        "raw": Metric("raw SKIP LOCKED loop", "jobs/s"),
        "raw_client_cpu": Metric("raw loop: client CPU per job", "µs"),
        "raw_db_cpu": Metric("raw loop: Postgres CPU per job", "µs"),
        "drain_vs_raw": Metric("drain / raw loop", "ratio", 0.5),
        "latency_median": Metric("commit → start, median", "ms", 5, higher_is_better=False),
        "latency_p95": Metric("commit → start, p95", "ms"),
        "late_median": Metric("delayed job late by, median", "ms"),
        "late_max": Metric("delayed job late by, max", "ms", 50, False),
        "stats": Metric("get_all_queue_stats", "ms"),
        "maintenance": Metric("maintenance pass", "ms"),
        "drain_kept": Metric("drain, rows kept", "jobs/s"),
        "drain_kept_db_cpu": Metric("drain, rows kept: Postgres CPU/job", "µs"),
        "drain_beside": Metric("drain beside it, none kept", "jobs/s"),
        "drain_beside_db_cpu": Metric("drain beside it: Postgres CPU/job", "µs"),
        "drain_kept_vs_drain": Metric("drain kept / drain beside it", "ratio", 0.9),
        "stats_kept": Metric("get_all_queue_stats, rows kept", "ms"),
        "maintenance_kept": Metric("maintenance pass, rows kept", "ms"),
    }
    info = describe_machine(args)
    with server_url() as server, fresh_database(server) as url:
        progress("fresh database migrated; starting the worker")
        async with drain_bench(url, args, args.jobs, args.profile) as (bench, store):
            version = await (await bench.probe.execute(sql.SERVER_VERSION)).fetchone()
            info["postgres"] = version["server_version"] if version else "?"
            await measure(args, bench, store, metrics)
            if args.kept:
                await measure_kept(args, server, bench, store, metrics)
    return {"info": info, "results": {k: m.summary() for k, m in metrics.items()}}


@contextlib.asynccontextmanager
async def drain_bench(
    url: str, args: argparse.Namespace, jobs: int, profile: str | None = None
) -> AsyncIterator[tuple[stages.Bench, AsyncStore]]:
    """A manager, a probe and a store on `url`, and a worker draining its queue `jobs` at
    a time."""
    manager = JobQueueManager(url, registry=Registry())
    probe = await stages.open_probe(url)
    pool = async_pool(url, max_size=2)
    await pool.open(wait=True)
    bench = stages.Bench(url, manager, probe, jobs, args.batch)
    try:
        async with (
            manager,
            worker_process(url, stages.DRAIN_QUEUE, args.concurrency, profile) as proc,
        ):
            bench.worker_pids = frozenset({proc.pid})
            yield bench, AsyncStore(pool)
    finally:
        await pool.close()
        await bench.close()


async def measure(
    args: argparse.Namespace, bench: stages.Bench, store: AsyncStore, m: dict[str, Metric]
) -> None:
    n = args.repeats
    for r in range(1, n + 1):
        m["add_bulk"].samples.append(await stages.add_bulk_rate(bench, f"bulk{r}", bench.jobs))
        await stages.clear(bench, f"bulk{r}")
        progress(f"[{r}/{n}] add_bulk: {m['add_bulk'].samples[-1]:,.0f} jobs/s")
        raw = await stages.raw_rate(bench, f"raw{r}", args.raw_batch)
        await stages.clear(bench, f"raw{r}")
        record(m, "raw", raw)
        progress(f"[{r}/{n}] raw loop: {describe(raw)}")
        drain = await stages.drain_rate(bench)
        record(m, "drain", drain)
        m["drain_vs_raw"].samples.append(drain.rate / raw.rate)
        progress(f"[{r}/{n}] drain: {describe(drain)}")
        await stages.prune_all(store)
        late = await stages.lateness(bench, max(args.latency_jobs // 4, 5))
        m["late_median"].samples.append(statistics.median(late))
        m["late_max"].samples.append(max(late))
        progress(
            f"[{r}/{n}] delayed jobs start {m['late_median'].samples[-1]:.1f} ms after their "
            f"time (median), {m['late_max'].samples[-1]:.1f} ms at most"
        )
        lat = await stages.latencies(bench, args.latency_jobs, gap=0.01)
        m["latency_median"].samples.append(statistics.median(lat))
        m["latency_p95"].samples.append(statistics.quantiles(lat, n=20)[-1])
        progress(
            f"[{r}/{n}] latency: median {m['latency_median'].samples[-1]:.2f} ms, "
            f"p95 {m['latency_p95'].samples[-1]:.2f} ms"
        )
        m["stats"].samples.append(await stages.stats_ms(bench))
        m["maintenance"].samples.append(await stages.maintenance_ms(store, bench.url))
        progress(
            f"[{r}/{n}] stats {m['stats'].samples[-1]:.1f} ms, "
            f"maintenance {m['maintenance'].samples[-1]:.1f} ms"
        )


async def measure_kept(
    args: argparse.Namespace,
    server: str,
    bench: stages.Bench,
    store: AsyncStore,
    m: dict[str, Metric],
) -> None:
    """Each drain with the rows kept is paired with a drain beside it: a second database
    with none kept and a worker of its own, the two taken in turn first and second. A
    pair's ratio is what the rows cost; the machine's drift over the minute between the
    plain drains and these ones is not in it. These drains are longer (`--kept-jobs`):
    at 20,000 a drain lasts a second, and one pair's ratio moved by a fifth either way
    from the next."""
    n = args.repeats
    seconds = await stages.keep_completed(bench, store, args.kept)
    progress(f"{args.kept:,} completed rows kept (inserted and folded in {seconds:.1f} s)")
    # From here on the drains of the database with the rows kept are of --kept-jobs.
    bench.jobs = args.kept_jobs
    with fresh_database(server, "_beside") as url:
        async with drain_bench(url, args, args.kept_jobs) as beside:
            # Unmeasured, one on each side: the first pages each touches after the
            # checkpoint that followed the insert are written whole to the WAL.
            for target in (bench, store), beside:
                await stages.drain_rate(target[0])
                await settle(*target)
            for r in range(1, n + 1):
                m["stats_kept"].samples.append(await stages.stats_ms(bench))
                m["maintenance_kept"].samples.append(await stages.maintenance_ms(store, bench.url))
                drains: dict[str, stages.Drain] = {}
                for which in ("kept", "beside") if r % 2 else ("beside", "kept"):
                    target = (bench, store) if which == "kept" else beside
                    drains[which] = await stages.drain_rate(target[0])
                    await settle(*target)
                kept, beside_it = drains["kept"], drains["beside"]
                m["drain_kept"].samples.append(kept.rate)
                m["drain_beside"].samples.append(beside_it.rate)
                if kept.db_cpu_us is not None and beside_it.db_cpu_us is not None:
                    m["drain_kept_db_cpu"].samples.append(kept.db_cpu_us)
                    m["drain_beside_db_cpu"].samples.append(beside_it.db_cpu_us)
                m["drain_kept_vs_drain"].samples.append(kept.rate / beside_it.rate)
                progress(
                    f"[{r}/{n}] rows kept: drain {describe(kept)}; "
                    f"beside it {describe(beside_it)}; "
                    f"stats {m['stats_kept'].samples[-1]:.1f} ms, "
                    f"maintenance {m['maintenance_kept'].samples[-1]:.1f} ms"
                )


async def settle(bench: stages.Bench, store: AsyncStore) -> None:
    """Prune and vacuum after a drain: each plain drain starts on a vacuumed table
    (`stages.clear` before it), and so does each drain with the rows kept, or it would
    walk the dead rows of the one before."""
    await stages.prune_all(store)
    await bench.probe.execute(sql.VACUUM)


COSTS = {"drain": ("drain_worker_cpu", "drain_db_cpu"), "raw": ("raw_client_cpu", "raw_db_cpu")}


def record(m: dict[str, Metric], name: str, drain: stages.Drain) -> None:
    m[name].samples.append(drain.rate)
    client, db = COSTS[name]
    if drain.worker_cpu_us is not None:
        m[client].samples.append(drain.worker_cpu_us)
    if drain.db_cpu_us is not None:
        m[db].samples.append(drain.db_cpu_us)


def describe(drain: stages.Drain) -> str:
    text = f"{drain.rate:,.0f} jobs/s"
    if drain.worker_cpu_us is not None and drain.db_cpu_us is not None:
        text += f" (CPU per job: {drain.worker_cpu_us:.0f} µs client, {drain.db_cpu_us:.0f} µs db)"
    return text


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("jobs/s", "µs", "rows"):
        return f"{value:,.0f}"
    return f"{value:.2f}"


def table(report: dict[str, Any]) -> str:
    info = report["info"]
    lines = [
        f"pgqueue benchmark, {info['date']}: {info['machine']}, PostgreSQL {info['postgres']}, "
        f"Python {info['python']}",
        f"{info['jobs']:,} jobs per drain, add_bulk batches of {info['batch']:,}, worker "
        f"concurrency {info['concurrency']}, {info['kept']:,} rows kept"
        + (f" (drains of {info['kept_jobs']:,} with them)" if info["kept"] else "")
        + (f", bulk enqueues of {info['enqueues']:,}" if info.get("enqueues") else "")
        + ", "
        f"{info['repeats']} repeat(s)",
        "",
        f"{'metric':<34}{'unit':>7}{'median':>12}{'min':>12}{'max':>12}{'target':>12}  met",
    ]
    for r in report["results"].values():
        unit = r["unit"]
        target = ""
        if r["target"] is not None:
            target = ("≥ " if r["target_is"] == "minimum" else "≤ ") + number(r["target"], unit)
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        lines.append(
            f"{r['label']:<34}{unit:>7}{number(r['median'], unit):>12}"
            f"{number(r['min'], unit):>12}{number(r['max'], unit):>12}{target:>12}  {met}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.backlog:
        report = asyncio.run(run_backlog(args))
    elif args.scale:
        report = asyncio.run(run_scale(args))
    elif args.engine:
        report = asyncio.run(run(args))
    else:
        report = asyncio.run(run_compare(args))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if not (args.backlog or args.engine or args.scale):
        print(comparison(report), end="\n\n")
    print(table(report))


if __name__ == "__main__":
    main()
