"""pgqueue: a job queue whose only infrastructure is PostgreSQL.

This module is the whole public surface; everything else is an implementation detail.
"""

from importlib import metadata as _metadata

from pgqueue.config import QUEUES, QueueConfig, Settings
from pgqueue.errors import (
    ConfigurationError,
    InvalidJobError,
    JobNotFoundError,
    JobStateError,
    PgQueueError,
    UnrecoverableError,
)
from pgqueue.manager import JobQueueManager, SyncJobQueueManager
from pgqueue.models import (
    CleanupJobType,
    EmailJobType,
    Job,
    JobPriority,
    JobState,
    QueueName,
    ReportJobType,
)
from pgqueue.registry import processor
from pgqueue.types import JobOptions, QueueStats
from pgqueue.worker import RunningJob, Worker

try:
    __version__ = _metadata.version("pgqueue")
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"

job_queue_manager = JobQueueManager()
"""The default manager, configured from the environment, as the guide's `jobQueueManager`."""

# The guide imports its helpers as functions; these are the default manager's methods.
add_email_job = job_queue_manager.add_email_job
add_report_job = job_queue_manager.add_report_job
add_cleanup_job = job_queue_manager.add_cleanup_job
schedule_daily_cleanup = job_queue_manager.schedule_daily_cleanup

__all__ = [
    "QUEUES",
    "CleanupJobType",
    "ConfigurationError",
    "EmailJobType",
    "InvalidJobError",
    "Job",
    "JobNotFoundError",
    "JobOptions",
    "JobPriority",
    "JobQueueManager",
    "JobState",
    "JobStateError",
    "PgQueueError",
    "QueueConfig",
    "QueueName",
    "QueueStats",
    "ReportJobType",
    "RunningJob",
    "Settings",
    "SyncJobQueueManager",
    "UnrecoverableError",
    "Worker",
    "add_cleanup_job",
    "add_email_job",
    "add_report_job",
    "job_queue_manager",
    "processor",
    "schedule_daily_cleanup",
]
