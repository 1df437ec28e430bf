"""`pgqueue worker` and `pgqueue run`."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from pgqueue import collector, eventloop
from pgqueue.api import Transport, serve
from pgqueue.asgi import create_app
from pgqueue.cli.common import import_option, load_processors, load_settings, prepare_database
from pgqueue.cli.supervise import Supervisor, cores
from pgqueue.config import QUEUES
from pgqueue.errors import ConfigurationError
from pgqueue.manager import JobQueueManager
from pgqueue.registry import Registry
from pgqueue.scheduler import Scheduler
from pgqueue.worker import Worker

Service = Callable[[asyncio.Event], Awaitable[None]]


def parse_processes(value: str) -> int:
    if value == "auto":
        return cores()
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise click.BadParameter(f"expected a whole number of at least 1 or 'auto', got {value!r}")


def select_queues(
    registry: Registry, queues: tuple[str, ...], concurrency: int | None
) -> dict[str, int]:
    """The queues named, else the eight and every queue with a processor."""
    names = list(queues) or [*QUEUES, *(q for q in registry.queues() if q not in QUEUES)]
    return {q: concurrency or registry.concurrency(q) for q in names}


def stop_now(workers: list[Worker]) -> None:
    for worker in workers:
        worker.stop_now()


def run_services(services: list[Service], on_second_signal: Callable[[], None]) -> None:
    """Run until SIGINT/SIGTERM; a second signal asks for an immediate stop."""
    try:
        factory = eventloop.loop_factory()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> None:
        stop = asyncio.Event()
        signals = 0

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            if signals == 1:
                stop.set()
            else:
                on_second_signal()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)

        async def supervised(service: Service) -> None:
            # One service failing (say, the API's port is taken) stops the others
            # gracefully instead of leaving them to be cancelled mid-job.
            try:
                await service(stop)
            finally:
                stop.set()

        results = await asyncio.gather(
            *(supervised(service) for service in services), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    collector.set_up_for_service()
    eventloop.run(main(), factory)
    if threading.active_count() > 1:
        # A plain-def processor is still running in a thread after the grace period; its
        # job was put back, so leave without waiting for it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@click.command("worker")
@click.option(
    "--queue", "-q", "queues", multiple=True, metavar="Q", help="Queue to work (repeatable)."
)
@click.option("--concurrency", "-c", type=click.IntRange(min=1), help="Slots per queue.")
@click.option(
    "--processes",
    "-p",
    default="1",
    show_default=True,
    metavar="N|auto",
    callback=lambda ctx, param, value: parse_processes(value),
    help="Worker processes to run and supervise (auto: one per core).",
)
@import_option
def worker_command(
    queues: tuple[str, ...], concurrency: int | None, processes: int, imports: tuple[str, ...]
) -> None:
    """Run workers for the given queues (default: every queue)."""
    settings = load_settings()
    registry = load_processors(imports, settings)
    if processes > 1:
        # Each worker process waits for the database and migrates on its own.
        args = ["worker", *(f"--queue={q}" for q in queues)]
        args += [f"--concurrency={concurrency}"] if concurrency else []
        args += [f"--import={module}" for module in imports]
        root = click.get_current_context().find_root().params
        env = {
            **os.environ,
            "PGQUEUE_LOG_LEVEL": root["log_level"],
            "PGQUEUE_LOG_FORMAT": root["log_format"],
        }
        sys.exit(Supervisor(args, processes, env).run())
    selected = select_queues(registry, queues, concurrency)
    started: list[Worker] = []

    async def work(stop: asyncio.Event) -> None:
        url = await prepare_database(settings, stop)
        if url is None:
            return
        worker = Worker(url, selected, registry, settings)
        started.append(worker)
        await worker.run(stop)

    run_services([work], lambda: stop_now(started))


F = TypeVar("F", bound=Callable[..., Any])


def transport_options(command: F) -> F:
    """--ssl-certfile/--ssl-keyfile/--forwarded-allow-ips, passed to uvicorn as a
    `transport` argument."""

    @click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False))
    @click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--forwarded-allow-ips",
        help="Proxies trusted to set X-Forwarded-For/-Proto (comma-separated, or *).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        ssl_certfile: str | None,
        ssl_keyfile: str | None,
        forwarded_allow_ips: str | None,
        **kwargs: Any,
    ) -> Any:
        if bool(ssl_certfile) != bool(ssl_keyfile):
            raise click.UsageError("--ssl-certfile and --ssl-keyfile go together")
        transport = Transport(ssl_certfile, ssl_keyfile, forwarded_allow_ips)
        return command(*args, transport=transport, **kwargs)

    return wrapper  # type: ignore[return-value]


@click.command("run")
@import_option
@transport_options
def run_command(imports: tuple[str, ...], transport: Transport) -> None:
    """Everything in one process: migrate, the guide's daily cleanup, the API, the
    scheduler and workers for every queue. Ctrl-C stops all of them.

    The API answers at once (`/readyz` says 503 until the database is there and
    migrated); the rest starts once the database answers."""
    settings = load_settings()
    try:
        app = create_app(settings=settings)  # refuses unsafe settings before anything starts
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    registry = load_processors(imports, settings)
    selected = select_queues(registry, (), None)
    started: list[Worker] = []

    async def api(stop: asyncio.Event) -> None:
        try:
            await serve(app, settings.api_host, settings.api_port, stop, transport)
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from exc

    async def work(stop: asyncio.Event) -> None:
        url = await prepare_database(settings, stop)
        if url is None:
            return
        async with JobQueueManager(url, settings=settings) as manager:
            await manager.schedule_daily_cleanup()
        worker = Worker(url, selected, registry, settings)
        started.append(worker)
        await asyncio.gather(worker.run(stop), Scheduler(url, settings).run(stop))

    run_services([work, api], lambda: stop_now(started))


COMMANDS = [worker_command, run_command]
