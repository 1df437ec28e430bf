"""`pgqueue worker --processes N`: one parent supervising N worker processes.

Python runs one thread of Python at a time, so one worker process uses about one core;
a host with more cores runs more processes. The parent only supervises: each child is
`pgqueue worker` with the same options, sharing the parent's stdout and stderr (one log
stream, a line at a time) and its own process group, so that a terminal's Ctrl-C reaches
the parent alone and each child hears exactly what the parent forwards:

- SIGTERM or SIGINT is forwarded to every child, which stops claiming and drains
  gracefully; a second signal is forwarded too, which the children take as "stop now";
- a child that exits on its own is logged and restarted, after a backoff that doubles
  (1 s, 2 s, … 30 s) while children keep dying young and resets once one has run a
  minute.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

logger = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
HEALTHY_AFTER = 60.0
TICK = 0.1


def cores() -> int:
    """The cores this process may run on (`--processes auto`)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Supervisor:
    def __init__(self, args: Sequence[str], processes: int, env: dict[str, str]) -> None:
        self.command = [sys.executable, "-m", "pgqueue", *args]
        self.processes = processes
        self.env = env
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.started: dict[int, float] = {}
        self.backoff = dict.fromkeys(range(processes), FIRST_BACKOFF)
        self.due: dict[int, float] = {}
        self.signals = 0

    def start(self, slot: int) -> None:
        child = subprocess.Popen(self.command, env=self.env, start_new_session=True)
        self.children[slot] = child
        self.started[slot] = time.monotonic()
        logger.info(
            "worker process started",
            extra={"action": "worker_process_started", "slot": slot, "pid": child.pid},
        )

    def forward(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signum)

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.forward)
        for slot in range(self.processes):
            self.start(slot)
        failed = False
        while self.children or (self.due and not self.signals):
            now = time.monotonic()
            for slot, child in list(self.children.items()):
                code = child.poll()
                if code is None:
                    continue
                del self.children[slot]
                if self.signals:
                    failed = failed or code != 0
                    continue
                ran = now - self.started[slot]
                if ran >= HEALTHY_AFTER:
                    self.backoff[slot] = FIRST_BACKOFF
                delay = self.backoff[slot]
                self.backoff[slot] = min(delay * 2, MAX_BACKOFF)
                self.due[slot] = now + delay
                logger.error(
                    "worker process died; restarting",
                    extra={
                        "action": "worker_process_died",
                        "slot": slot,
                        "pid": child.pid,
                        "exit_code": code,
                        "ran_seconds": round(ran, 1),
                        "restart_in_seconds": delay,
                    },
                )
            for slot, at in list(self.due.items()):
                if self.signals:
                    self.due.clear()
                elif at <= now:
                    del self.due[slot]
                    self.start(slot)
            time.sleep(TICK)
        return 1 if failed else 0
