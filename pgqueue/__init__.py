"""pgqueue: a job queue whose only infrastructure is PostgreSQL.

This module is the whole public surface; everything else is an implementation detail.
"""

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
from pgqueue.worker import RunningJob, Worker

job_queue_manager = JobQueueManager()
"""The default manager, configured from the environment, as the guide's `jobQueueManager`."""

__all__ = [
    "QUEUES",
    "CleanupJobType",
    "ConfigurationError",
    "EmailJobType",
    "InvalidJobError",
    "Job",
    "JobNotFoundError",
    "JobPriority",
    "JobQueueManager",
    "JobState",
    "JobStateError",
    "PgQueueError",
    "QueueConfig",
    "QueueName",
    "ReportJobType",
    "RunningJob",
    "Settings",
    "SyncJobQueueManager",
    "UnrecoverableError",
    "Worker",
    "job_queue_manager",
    "processor",
]
