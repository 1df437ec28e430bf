"""The chaos test's processor: each run appends "<job id> <pid>" to a file of its process.

One `os.write` of a short line to a file opened with O_APPEND is atomic, so a worker
killed mid-job leaves whole lines only; the file outlives the process and the database.
"""

from __future__ import annotations

import os
import time

import pgqueue
from pgqueue.worker.job import RunningJob

EFFECTS_DIR = os.environ.get("CHAOS_EFFECTS_DIR", "")
RUN_SECONDS = 0.05


@pgqueue.processor("chaos", "effect")
def effect(job: RunningJob) -> None:
    time.sleep(RUN_SECONDS)
    path = os.path.join(EFFECTS_DIR, f"{os.getpid()}.log")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{job.id} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
