"""Worker processes: per-queue pools that claim, run and finish jobs."""

from pgqueue.worker.job import RunningJob
from pgqueue.worker.runner import Worker

__all__ = ["RunningJob", "Worker"]
