"""One benchmark worker process: `python -m benchmarks.worker URL QUEUE CONCURRENCY`.

It runs a real `pgqueue.worker.Worker` on one queue with two processors: `noop` does
nothing (the drain), `stamp` returns the time it started (the latency). It prints
`ready` once it claims, and stops gracefully on SIGTERM. With `--profile FILE` it
writes a cProfile of its whole life to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import signal
import sys
import time
from typing import Any

from pgqueue import collector, eventloop
from pgqueue.config import Settings
from pgqueue.registry import Registry
from pgqueue.worker import Worker


async def noop(job: Any) -> None:
    return None


async def stamp(job: Any) -> dict[str, float]:
    return {"started": time.time()}


async def serve(url: str, queue: str, concurrency: int) -> None:
    registry = Registry()
    registry.add(queue, "noop", noop)
    registry.add(queue, "stamp", stamp)
    worker = Worker(url, {queue: concurrency}, registry, Settings.from_env())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    running = asyncio.create_task(worker.run(stop))
    ready = asyncio.create_task(worker.ready.wait())
    await asyncio.wait({running, ready}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        running.result()
    print("ready", flush=True)
    await running


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("url")
    parser.add_argument("queue")
    parser.add_argument("concurrency", type=int)
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args(argv)
    collector.set_up_for_service()  # as `pgqueue worker` does
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            eventloop.run(serve(args.url, args.queue, args.concurrency), eventloop.loop_factory())
        finally:
            profiler.disable()
            profiler.dump_stats(args.profile)
    else:
        eventloop.run(serve(args.url, args.queue, args.concurrency), eventloop.loop_factory())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
