"""The Python API of the guide: `JobQueueManager` and its blocking twin."""

from pgqueue.manager.aio import JobQueueManager
from pgqueue.manager.sync import SyncJobQueueManager

__all__ = ["JobQueueManager", "SyncJobQueueManager"]
