"""The figures behind the built-in reports, read for the report processor.

A report's figures must agree with each other, so a `ReportReader` answers every
question inside one read-only REPEATABLE READ snapshot. It is the processors' door to
the report queries, which live in the store (`store/report_ops.py`, `sql/reports.sql`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import Connection, IsolationLevel

from pgqueue.store import report_ops
from pgqueue.store.report_ops import Analytics, AuditSummary, Coverage, Findings, Period
from pgqueue.store.sync import execute

__all__ = [
    "Analytics",
    "AuditSummary",
    "Coverage",
    "Findings",
    "Period",
    "ReportReader",
    "report_snapshot",
]


class ReportReader:
    """Each method is one query of `sql/reports.sql`, on the snapshot's connection."""

    def __init__(self, conn: Connection[Any]) -> None:
        self._conn = conn

    def pipeline_summary(self, queue: str, pipeline_id: str, period: Period) -> dict[str, Any]:
        return execute(self._conn, report_ops.pipeline_summary(queue, pipeline_id, period))

    def pipeline_failures(
        self, queue: str, pipeline_id: str, period: Period
    ) -> list[dict[str, Any]]:
        return execute(self._conn, report_ops.pipeline_failures(queue, pipeline_id, period))

    def pipeline_runs(self, queue: str, pipeline_id: str, period: Period) -> list[dict[str, Any]]:
        return execute(self._conn, report_ops.pipeline_runs(queue, pipeline_id, period))

    def coverage_by_day(self, queue: str, project_id: str, period: Period) -> Coverage:
        return execute(self._conn, report_ops.coverage_by_day(queue, project_id, period))

    def security_findings(
        self, name: str, report_queue: str, project_id: str | None, period: Period
    ) -> Findings:
        return execute(
            self._conn, report_ops.security_findings(name, report_queue, project_id, period)
        )

    def queue_analytics(self, period: Period) -> Analytics:
        return execute(self._conn, report_ops.queue_analytics(period))

    def audit_summary(self, period: Period) -> AuditSummary:
        return execute(self._conn, report_ops.audit_summary(period))

    def audit_entries(self, period: Period) -> list[dict[str, Any]]:
        return execute(self._conn, report_ops.audit_entries(period))


@contextmanager
def report_snapshot(database_url: str) -> Iterator[ReportReader]:
    """One read-only snapshot, so the figures of a report agree with each other."""
    # No startup `options` and no prepared statements: PgBouncer in transaction mode
    # refuses the first and cannot keep the second. The time zone is set for the
    # transaction only, which a pooler keeps on one server session.
    with psycopg.connect(database_url, prepare_threshold=None) as conn:
        conn.read_only = True
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        yield ReportReader(conn)
