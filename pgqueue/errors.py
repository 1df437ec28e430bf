"""One error tree: every error pgqueue raises on purpose is a `PgQueueError`.

The REST API maps each class to an HTTP status in one place, so the classes say what
went wrong from the caller's side, not where.
"""

from __future__ import annotations


class PgQueueError(Exception):
    """Root of every error pgqueue raises on purpose."""


class InvalidJobError(PgQueueError, ValueError):
    """Raised before anything is written, when a job, its options or a query argument is
    bad: not JSON, too large, an empty queue name, attempts below one, a negative delay."""


class JobNotFoundError(PgQueueError, LookupError):
    """Raised when a job named by id does not exist in the queue given."""


class JobStateError(PgQueueError):
    """Raised when an operation does not fit the job's state, e.g. retrying a job that
    has not failed."""


class ConfigurationError(PgQueueError):
    """Raised when the environment or a CLI flag names something unusable: a module that
    does not import, a database that cannot be reached or started."""


class UnrecoverableError(PgQueueError):
    """Raise from a processor to fail the job at once, without spending its remaining
    attempts (BullMQ's name for the same thing)."""


class DatabaseUnavailableError(PgQueueError):
    """Raised when the database cannot be reached: by a command or an operation while the
    server is down or unreachable, and at start once `PGQUEUE_CONNECT_TIMEOUT` has
    passed. The message names the server (never the password) and the cause."""
